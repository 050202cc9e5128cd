//! BIP-39 phrases (English), written here over the `sha2`/`hmac` the dApp already has: the
//! `bip39` crate brings a second SHA-2 implementation (bitcoin_hashes) into the page for the
//! same two hashes. Its word list is kept as one text (`bip39-english.txt`, checked against the
//! crate in the tests): a `[&str; 2048]` adds 16 KB of pointers to the page.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// Why a phrase is not a BIP-39 phrase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    BadWordCount(usize),
    /// Index (0-based) of the first word not in the list.
    UnknownWord(usize),
    InvalidChecksum,
    BadEntropyLength(usize),
}

const ENGLISH: &str = include_str!("bip39-english.txt");

/// The 2048 words, sorted (BIP-39's English list).
fn words() -> Vec<&'static str> {
    ENGLISH.lines().collect()
}

/// The phrase for `entropy` (16, 20, 24, 28 or 32 bytes): its bits, then the first
/// `len * 8 / 32` bits of its sha256, in 11-bit words.
pub fn phrase_of(entropy: &[u8]) -> Result<String, Error> {
    if !(16..=32).contains(&entropy.len()) || entropy.len() % 4 != 0 {
        return Err(Error::BadEntropyLength(entropy.len()));
    }
    let mut bits: Vec<bool> = entropy.iter().flat_map(|b| (0..8).rev().map(move |i| b >> i & 1 == 1)).collect();
    let check = Sha256::digest(entropy);
    bits.extend((0..entropy.len() / 4).map(|i| check[i / 8] >> (7 - i % 8) & 1 == 1));
    let list = words();
    let out: Vec<&str> = bits.chunks(11).map(|c| list[c.iter().fold(0usize, |n, &b| n << 1 | usize::from(b))]).collect();
    Ok(out.join(" "))
}

/// Checks a normalized phrase (lower case, single spaces): word count, words, checksum.
pub fn check(normalized: &str) -> Result<(), Error> {
    let given: Vec<&str> = normalized.split(' ').collect();
    if ![12, 15, 18, 21, 24].contains(&given.len()) {
        return Err(Error::BadWordCount(given.len()));
    }
    let list = words();
    let mut bits = Vec::with_capacity(given.len() * 11);
    for (i, w) in given.iter().enumerate() {
        // The list is sorted.
        let n = list.binary_search(w).map_err(|_| Error::UnknownWord(i))?;
        bits.extend((0..11).rev().map(|k| n >> k & 1 == 1));
    }
    let checksum_bits = given.len() / 3;
    let (data, checksum) = bits.split_at(bits.len() - checksum_bits);
    let entropy: Vec<u8> = data.chunks(8).map(|c| c.iter().fold(0u8, |n, &b| n << 1 | u8::from(b))).collect();
    let hash = Sha256::digest(&entropy);
    if (0..checksum_bits).all(|i| checksum[i] == (hash[i / 8] >> (7 - i % 8) & 1 == 1)) {
        Ok(())
    } else {
        Err(Error::InvalidChecksum)
    }
}

/// The 64-byte seed: PBKDF2-HMAC-SHA512(phrase, "mnemonic" + passphrase, 2048 rounds). One output
/// block is all BIP-39 needs.
pub fn seed(normalized: &str, passphrase: &str) -> [u8; 64] {
    let prf = <Hmac<Sha512> as Mac>::new_from_slice(normalized.as_bytes()).expect("HMAC takes keys of any length");
    let mut mac = prf.clone();
    mac.update(b"mnemonic");
    mac.update(passphrase.as_bytes());
    mac.update(&1u32.to_be_bytes());
    let mut u: [u8; 64] = mac.finalize().into_bytes().into();
    let mut out = u;
    for _ in 1..2048 {
        let mut mac = prf.clone();
        mac.update(&u);
        u = mac.finalize().into_bytes().into();
        out.iter_mut().zip(u).for_each(|(o, x)| *o ^= x);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_list_is_bip39_english() {
        assert_eq!(words(), bip39::Language::English.word_list().to_vec());
    }

    /// The first vectors of the BIP-39 reference (trezor/python-mnemonic vectors.json), passphrase
    /// "TREZOR".
    const VECTORS: [(&str, &str, &str); 3] = [
        (
            "00000000000000000000000000000000",
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
            "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04",
        ),
        (
            "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
            "legal winner thank year wave sausage worth useful legal winner thank yellow",
            "2e8905819b8723fe2c1d161860e5ee1830318dbf49a83bd451cfb8440c28bd6fa457fe1296106559a3c80937a1c1069be3a3a5bd381ee6260e8d9739fce1f607",
        ),
        (
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote",
            "dd48c104698c30cfe2b6142103248622fb7bb0ff692eebb00089b32d22484e1613912f0a5b694407be899ffd31ed3992c456cdf60f5d4564b8ba3f05a69890ad",
        ),
    ];

    #[test]
    fn reference_vectors() {
        for (entropy, phrase, seed_hex) in VECTORS {
            assert_eq!(phrase_of(&hex::decode(entropy).unwrap()).unwrap(), phrase);
            assert_eq!(check(phrase), Ok(()));
            assert_eq!(hex::encode(seed(phrase, "TREZOR")), seed_hex);
        }
    }

    #[test]
    fn bad_phrases_are_named() {
        assert_eq!(check("abandon abandon"), Err(Error::BadWordCount(2)));
        assert_eq!(check(&["abandon"; 11].join(" ")), Err(Error::BadWordCount(11)));
        let typo = VECTORS[0].1.replace("about", "abuot");
        assert_eq!(check(&typo), Err(Error::UnknownWord(11)));
        assert_eq!(check(&["abandon"; 12].join(" ")), Err(Error::InvalidChecksum));
        assert_eq!(phrase_of(&[0; 15]), Err(Error::BadEntropyLength(15)));
    }

    #[test]
    fn every_entropy_length_round_trips() {
        for len in [16, 20, 24, 28, 32] {
            let entropy: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
            let phrase = phrase_of(&entropy).unwrap();
            assert_eq!(phrase.split(' ').count(), len * 3 / 4);
            assert_eq!(check(&phrase), Ok(()));
        }
    }
}
