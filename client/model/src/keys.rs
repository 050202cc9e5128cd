//! Keys: generate, import (`ed25519:` secret key or a NEAR seed phrase), and keep them encrypted
//! at rest. A [`Vault`] is what IndexedDB stores; only [`Vault::unlock`] with the passphrase
//! yields a [`SecretKey`], which lives in page memory and is never serialised by this crate.

use crate::mnemonic;
use crate::words::Problem;
use argon2::{Algorithm, Argon2, Params, Version};
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use outpost_protocol::{text::parse_account_id, AccountId, PublicKey, SecretKey};
use serde::{Deserialize, Serialize};
use sha2::Sha512;

/// NEAR wallets' derivation path (near-seed-phrase): m/44'/397'/0', all hardened (SLIP-10 ed25519
/// has only hardened children).
pub const NEAR_PATH: [u32; 3] = [44, 397, 0];

/// 32 random bytes from the OS (natively) or `crypto.getRandomValues` (browser).
pub fn random_bytes<const N: usize>() -> Result<[u8; N], Problem> {
    let mut out = [0u8; N];
    getrandom::getrandom(&mut out).map_err(|e| Problem::new(format!("this device gave no randomness ({e})")))?;
    Ok(out)
}

/// Lower-cases and collapses whitespace, as near-seed-phrase's `normalizeSeedPhrase` does.
pub fn normalize_seed_phrase(phrase: &str) -> String {
    phrase.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>().join(" ")
}

/// Derives the key NEAR wallets derive from a BIP-39 phrase: seed = PBKDF2(phrase, "mnemonic"),
/// then SLIP-10 ed25519 along m/44'/397'/0'. The phrase must be valid BIP-39 English (words and
/// checksum), which catches typos before they become a wrong, empty account.
pub fn key_from_seed_phrase(phrase: &str) -> Result<SecretKey, Problem> {
    let normalized = normalize_seed_phrase(phrase);
    if normalized.is_empty() {
        return Err(Problem::new("enter your seed phrase (12 or 24 words)"));
    }
    mnemonic::check(&normalized).map_err(|e| {
        Problem::new(match e {
            mnemonic::Error::BadWordCount(n) => format!("a seed phrase has 12, 15, 18, 21 or 24 words; this one has {n}"),
            mnemonic::Error::UnknownWord(i) => format!(
                "word {} (`{}`) is not in the BIP-39 word list; check its spelling",
                i + 1,
                normalized.split(' ').nth(i).unwrap_or("")
            ),
            mnemonic::Error::InvalidChecksum => {
                "the words are valid but do not form a seed phrase (checksum); a word is wrong or out of order".into()
            }
            mnemonic::Error::BadEntropyLength(n) => format!("not a seed phrase ({n} bytes of entropy)"),
        })
    })?;
    Ok(SecretKey::from_seed(slip10_ed25519(&mnemonic::seed(&normalized, ""), &NEAR_PATH)))
}

/// SLIP-10 ed25519 derivation (hardened indices only).
pub fn slip10_ed25519(seed: &[u8], path: &[u32]) -> [u8; 32] {
    fn hmac512(key: &[u8], parts: &[&[u8]]) -> [u8; 64] {
        // HMAC takes keys of any length.
        let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(key).expect("hmac key");
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }
    let mut i = hmac512(b"ed25519 seed", &[seed]);
    for index in path {
        let hardened = (index | 0x8000_0000).to_be_bytes();
        i = hmac512(&i[32..], &[&[0u8], &i[..32], &hardened]);
    }
    i[..32].try_into().expect("32 bytes")
}

/// A fresh key and the 12-word phrase it derives from, so the user can write the phrase down and
/// restore the key in any NEAR wallet.
pub fn generate() -> Result<(SecretKey, String), Problem> {
    let entropy: [u8; 16] = random_bytes()?;
    let phrase = mnemonic::phrase_of(&entropy).map_err(|_| Problem::new("could not make a seed phrase from 16 random bytes"))?;
    Ok((key_from_seed_phrase(&phrase)?, phrase))
}

/// Parses a pasted `ed25519:` secret key, with the protocol crate's rules and words.
pub fn import_secret_key(text: &str) -> Result<SecretKey, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Problem::new("paste a secret key starting with `ed25519:`"));
    }
    text.parse::<SecretKey>().map_err(|e| Problem::new(format!("{}: {}", e.code.description(), e.detail)))
}

/// Argon2id cost. The default is RFC 9106's second recommended setting (64 MiB, 3 passes) with
/// one lane, since wasm has no threads: it unlocks in a few hundred ms in Chromium (the e2e test
/// reports the figure) while costing an offline guesser 64 MiB and three passes per guess.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub passes: u32,
    pub lanes: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams { memory_kib: 64 * 1024, passes: 3, lanes: 1 }
    }
}

/// A secret key encrypted under a passphrase: Argon2id → 32-byte key → XChaCha20-Poly1305 over
/// the 32-byte seed, with the public key as associated data (a ciphertext cannot be moved to
/// another vault record). Everything else here is public.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vault {
    pub version: u8,
    pub public_key: PublicKey,
    /// A named account this key signs for, when the user has one; else the implicit account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named_account: Option<AccountId>,
    pub kdf: KdfParams,
    pub salt: String,
    pub nonce: String,
    pub ciphertext: String,
}

/// The key worker's two requests (a Web Worker running this same code, so Argon2id never freezes
/// the page). Text in and out, and no request type of its own: only strings cross `postMessage`,
/// and each serde type costs the page's bundle.
///
/// Unlock: the vault as stored (JSON) → the secret key, `ed25519:…`.
pub fn worker_unlock(vault_json: &str, passphrase: &str) -> Result<String, Problem> {
    let vault: Vault = serde_json::from_slice(vault_json.as_bytes()).map_err(|_| Problem::new("the stored key is damaged (cannot decode it)"))?;
    vault.unlock(passphrase).map(|k| k.to_string())
}

/// Seal: a secret key (`ed25519:…`), passphrase and named account (empty: none) → the vault JSON.
pub fn worker_seal(secret_key: &str, passphrase: &str, named_account: &str) -> Result<String, Problem> {
    let key = import_secret_key(secret_key)?;
    let vault = Vault::seal(&key, passphrase, parse_named_account(named_account)?, KdfParams::default())?;
    Ok(serde_json::to_string(&vault).expect("plain JSON"))
}

/// Passphrases shorter than this are refused: the vault sits in the browser profile, so the
/// passphrase is the only thing between a copied profile and the funds.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

fn derive_key(passphrase: &str, salt: &[u8], kdf: KdfParams) -> Result<[u8; 32], Problem> {
    let params = Params::new(kdf.memory_kib, kdf.passes, kdf.lanes, Some(32))
        .map_err(|e| Problem::new(format!("the key file has unusable KDF settings ({e})")))?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, &mut out)
        .map_err(|e| Problem::new(format!("could not derive the key ({e})")))?;
    Ok(out)
}

impl Vault {
    pub fn seal(key: &SecretKey, passphrase: &str, named_account: Option<AccountId>, kdf: KdfParams) -> Result<Vault, Problem> {
        if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(Problem::new(format!("use a passphrase of at least {MIN_PASSPHRASE_CHARS} characters")));
        }
        let salt: [u8; 16] = random_bytes()?;
        let nonce: [u8; 24] = random_bytes()?;
        let aead_key = derive_key(passphrase, &salt, kdf)?;
        let public_key = key.public_key();
        let ciphertext = XChaCha20Poly1305::new((&aead_key).into())
            .encrypt(&XNonce::from(nonce), Payload { msg: &key.seed(), aad: &public_key.0 })
            .map_err(|_| Problem::new("encryption failed"))?;
        Ok(Vault {
            version: 1,
            public_key,
            named_account,
            kdf,
            salt: B64.encode(salt),
            nonce: B64.encode(nonce),
            ciphertext: B64.encode(ciphertext),
        })
    }

    /// Decrypts the key. A wrong passphrase and a tampered record look the same to AEAD; both are
    /// reported as a wrong passphrase because that is by far the likelier cause.
    pub fn unlock(&self, passphrase: &str) -> Result<SecretKey, Problem> {
        let damaged = || Problem::new("the stored key is damaged (cannot decode it)");
        let salt = B64.decode(&self.salt).map_err(|_| damaged())?;
        let nonce = B64.decode(&self.nonce).map_err(|_| damaged())?;
        let ciphertext = B64.decode(&self.ciphertext).map_err(|_| damaged())?;
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| damaged())?;
        let aead_key = derive_key(passphrase, &salt, self.kdf)?;
        let seed = XChaCha20Poly1305::new((&aead_key).into())
            .decrypt(&XNonce::from(nonce), Payload { msg: &ciphertext, aad: &self.public_key.0 })
            .map_err(|_| Problem::new("wrong passphrase"))?;
        let seed: [u8; 32] = seed.try_into().map_err(|_| damaged())?;
        let key = SecretKey::from_seed(seed);
        if key.public_key() != self.public_key {
            return Err(damaged());
        }
        Ok(key)
    }

    /// The account that signs: the named account when set, else the implicit one.
    pub fn account_id(&self) -> AccountId {
        self.named_account.clone().unwrap_or_else(|| self.public_key.implicit_account_id())
    }

    pub fn implicit_account_id(&self) -> AccountId {
        self.public_key.implicit_account_id()
    }
}

/// Parses the optional named-account field (empty = none).
/// A new key's passphrase, before anything is generated: long enough, and typed the same twice.
pub fn check_new_passphrase(pass: &str, again: &str) -> Result<(), Problem> {
    if pass.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(Problem::new(format!("use a passphrase of at least {MIN_PASSPHRASE_CHARS} characters")));
    }
    if pass != again {
        return Err(Problem::new("the two passphrases differ"));
    }
    Ok(())
}

/// Which words of a new seed phrase the user types back before the key is saved (1-based, in
/// order): three distinct positions from `random`, so a phrase not written down is caught.
pub fn words_to_confirm(random: [u8; 3]) -> [usize; 3] {
    let mut picked: Vec<usize> = Vec::with_capacity(3);
    for r in random {
        // From the positions not taken yet, so three distinct ones always come out.
        let free: Vec<usize> = (1..=12).filter(|p| !picked.contains(p)).collect();
        picked.push(free[usize::from(r) % free.len()]);
    }
    picked.sort_unstable();
    [picked[0], picked[1], picked[2]]
}

/// Checks the words typed back (`answers[i]` for position `positions[i]`), ignoring case and
/// surrounding spaces; names the first that does not match.
pub fn confirm_words(phrase: &str, positions: &[usize; 3], answers: &[String; 3]) -> Result<(), Problem> {
    let words: Vec<&str> = phrase.split_whitespace().collect();
    for (pos, answer) in positions.iter().zip(answers) {
        let expected = words.get(pos.wrapping_sub(1)).copied().unwrap_or_default();
        if answer.trim().to_lowercase() != expected {
            return Err(Problem::new(format!("word {pos} does not match: check the phrase you wrote down")));
        }
    }
    Ok(())
}

/// The unlocked key is dropped after this long without a key press or a click (the page keeps
/// only the encrypted vault).
pub const DEFAULT_IDLE_LOCK_MS: u64 = 10 * 60 * 1000;

/// When an unlocked key locks itself: `idle_ms` after the last user activity. A setting of 0
/// (or one that does not parse) falls back to the default, so it never means "never".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdleLock {
    pub idle_ms: u64,
}

impl IdleLock {
    pub fn from_setting(setting: Option<&str>) -> IdleLock {
        let idle_ms = setting.and_then(|s| s.trim().parse::<u64>().ok()).filter(|ms| *ms > 0).unwrap_or(DEFAULT_IDLE_LOCK_MS);
        IdleLock { idle_ms }
    }
    /// Whether a key unlocked and last used at `last_activity_ms` should be locked at `now_ms`.
    pub fn due(&self, last_activity_ms: u64, now_ms: u64) -> bool {
        now_ms.saturating_sub(last_activity_ms) >= self.idle_ms
    }
}

pub fn parse_named_account(text: &str) -> Result<Option<AccountId>, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    parse_account_id(text).map(Some).map_err(|e| Problem::new(format!("{}: {}", e.code.description(), e.detail)))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn the_key_worker_seals_and_unlocks_through_text() {
        let (key, _) = generate().unwrap();
        let vault_json = worker_seal(&key.to_string(), "a long passphrase", "carol.testnet").unwrap();
        let vault: Vault = serde_json::from_str(&vault_json).unwrap();
        assert_eq!((vault.public_key, vault.account_id().as_str()), (key.public_key(), "carol.testnet"));
        assert_eq!(worker_unlock(&vault_json, "a long passphrase").unwrap(), key.to_string());
        assert_eq!(worker_unlock(&vault_json, "wrong passphrase").unwrap_err(), vault.unlock("wrong passphrase").unwrap_err());
        assert!(worker_seal(&key.to_string(), "short", "").unwrap_err().0.contains("at least 8"));
        assert!(worker_seal("ed25519:junk", "a long passphrase", "").is_err());
        assert!(worker_unlock("{}", "a long passphrase").unwrap_err().0.contains("damaged"));
        let implicit: Vault = serde_json::from_str(&worker_seal(&key.to_string(), "a long passphrase", "").unwrap()).unwrap();
        assert_eq!(implicit.named_account, None);
    }

    const FAST: KdfParams = KdfParams { memory_kib: 64, passes: 1, lanes: 1 };

    #[derive(Deserialize)]
    struct Vectors {
        seed_phrases: Vec<SeedVector>,
    }
    #[derive(Deserialize)]
    struct SeedVector {
        seed_phrase: String,
        secret_key: String,
        public_key: String,
    }

    fn vectors() -> Vectors {
        serde_json::from_str(include_str!("../../../contracts/protocol/tests/vectors/near-api-js.json")).unwrap()
    }

    #[test]
    fn seed_phrases_derive_like_near_wallets() {
        let v = vectors();
        assert_eq!(v.seed_phrases.len(), 2);
        for s in v.seed_phrases {
            let key = key_from_seed_phrase(&s.seed_phrase).unwrap();
            assert_eq!(key.to_string(), s.secret_key, "{}", s.seed_phrase);
            assert_eq!(key.public_key().to_string(), s.public_key);
            // Sloppy spacing and case still give the same key (wallets normalise the same way).
            let sloppy = format!("  {}  ", s.seed_phrase.to_uppercase().replace(' ', "   "));
            assert_eq!(key_from_seed_phrase(&sloppy).unwrap().to_string(), s.secret_key);
        }
    }

    #[test]
    fn bad_seed_phrases_say_what_is_wrong() {
        let e = key_from_seed_phrase("abandon abandon").unwrap_err().0;
        assert!(e.contains("this one has 2"), "{e}");
        let e = key_from_seed_phrase("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandn about")
            .unwrap_err()
            .0;
        assert!(e.contains("word 11 (`abandn`)"), "{e}");
        let e = key_from_seed_phrase("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon")
            .unwrap_err()
            .0;
        assert!(e.contains("checksum"), "{e}");
        assert!(key_from_seed_phrase("   ").unwrap_err().0.contains("enter your seed phrase"));
    }

    #[test]
    fn generated_keys_come_with_their_phrase() {
        let (key, phrase) = generate().unwrap();
        assert_eq!(phrase.split(' ').count(), 12);
        assert_eq!(key_from_seed_phrase(&phrase).unwrap().to_string(), key.to_string());
        let (other, _) = generate().unwrap();
        assert_ne!(key.public_key(), other.public_key());
    }

    #[test]
    fn secret_key_import_errors_are_words() {
        let e = import_secret_key("ed25519:abc").unwrap_err().0;
        assert!(e.starts_with("not an ed25519 secret key"), "{e}");
        assert!(import_secret_key("").unwrap_err().0.contains("paste a secret key"));
        let v = vectors();
        let k = import_secret_key(&format!(" {} ", v.seed_phrases[0].secret_key)).unwrap();
        assert_eq!(k.public_key().to_string(), v.seed_phrases[0].public_key);
    }

    #[test]
    fn vault_round_trip_and_wrong_passphrase() {
        let (key, _) = generate().unwrap();
        let vault = Vault::seal(&key, "correct horse", None, FAST).unwrap();
        // The record holds no key material in the clear.
        let json = serde_json::to_string(&vault).unwrap();
        assert!(!json.contains(&key.to_string()[8..]));
        assert!(!json.contains(&outpost_protocol::base58::encode(&key.seed())));
        let back: Vault = serde_json::from_str(&json).unwrap();
        assert_eq!(back.unlock("correct horse").unwrap().to_string(), key.to_string());
        assert_eq!(back.unlock("wrong horse").unwrap_err().0, "wrong passphrase");
        assert_eq!(back.account_id(), key.public_key().implicit_account_id());
        // Moving the ciphertext under another public key fails (AAD binds them).
        let (other, _) = generate().unwrap();
        let mut swapped = back.clone();
        swapped.public_key = other.public_key();
        assert!(swapped.unlock("correct horse").is_err());
        assert!(Vault::seal(&key, "short", None, FAST).unwrap_err().0.contains("at least 8"));
        let mut damaged = back;
        damaged.nonce = "!!".into();
        assert!(damaged.unlock("correct horse").unwrap_err().0.contains("damaged"));
    }

    #[test]
    fn default_kdf_is_argon2id_64mib() {
        let (key, _) = generate().unwrap();
        let vault = Vault::seal(&key, "a long passphrase", parse_named_account("alice.testnet").unwrap(), KdfParams::default()).unwrap();
        assert_eq!(vault.kdf, KdfParams { memory_kib: 65536, passes: 3, lanes: 1 });
        assert_eq!(vault.account_id().as_str(), "alice.testnet");
        assert_eq!(vault.unlock("a long passphrase").unwrap().public_key(), key.public_key());
        assert!(parse_named_account("Bad Name").unwrap_err().0.starts_with("not a valid NEAR account id"));
    }

    #[test]
    fn an_unlocked_key_locks_after_idle_time_and_a_setting_never_disables_it() {
        let lock = IdleLock::from_setting(None);
        assert_eq!(lock.idle_ms, DEFAULT_IDLE_LOCK_MS);
        assert!(!lock.due(1_000, 1_000 + DEFAULT_IDLE_LOCK_MS - 1));
        assert!(lock.due(1_000, 1_000 + DEFAULT_IDLE_LOCK_MS));
        assert_eq!(IdleLock::from_setting(Some(" 1500 ")).idle_ms, 1_500);
        for bad in ["0", "-5", "soon", ""] {
            assert_eq!(IdleLock::from_setting(Some(bad)).idle_ms, DEFAULT_IDLE_LOCK_MS, "{bad}");
        }
        // A clock that went back never locks early.
        assert!(!lock.due(5_000, 4_000));
    }

    #[test]
    fn a_new_phrase_is_confirmed_word_by_word_before_saving() {
        assert!(check_new_passphrase("short", "short").unwrap_err().0.contains("at least 8"));
        assert!(check_new_passphrase("long enough", "long enougH").unwrap_err().0.contains("differ"));
        assert!(check_new_passphrase("long enough", "long enough").is_ok());
        for r in [[0u8, 0, 0], [255, 255, 255], [11, 11, 11], [3, 200, 77]] {
            let p = words_to_confirm(r);
            assert!(p[0] < p[1] && p[1] < p[2] && p[0] >= 1 && p[2] <= 12, "{p:?}");
        }
        let (_, phrase) = generate().unwrap();
        let words: Vec<&str> = phrase.split(' ').collect();
        let positions = [2, 7, 12];
        let right = positions.map(|p| format!(" {} ", words[p - 1].to_uppercase()));
        assert!(confirm_words(&phrase, &positions, &right).is_ok());
        let mut wrong = right.clone();
        wrong[1] = "zoo-not-a-word".into();
        assert_eq!(confirm_words(&phrase, &positions, &wrong).unwrap_err().0, "word 7 does not match: check the phrase you wrote down");
    }
}
