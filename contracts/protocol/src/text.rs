//! Value types and their text forms, which are what JSON carries:
//! keys and signatures as `ed25519:<base58>` (NEAR's form), nonces as base64, amounts and
//! deadlines as decimal strings (JSON numbers lose precision above 2^53), tokens as `near` or
//! `nep141:<account>`. Each `FromStr` returns an [`IntentError`] with its own code.

use crate::error::{reject, ErrorCode, IntentError};
use base64::Engine as _;
use borsh::{BorshDeserialize, BorshSerialize};
use core::{fmt, str::FromStr};
use near_account_id::AccountId;

/// Serde through `Display`/`FromStr`, so JSON and the text form can never disagree.
macro_rules! serde_via_str {
    ($ty:ty, $expecting:literal) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(|e: IntentError| E::custom(e))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

fn decode_ed25519<const N: usize>(text: &str, code: ErrorCode) -> Result<[u8; N], IntentError> {
    let data = text
        .strip_prefix("ed25519:")
        .ok_or_else(|| reject(code, "expected the prefix `ed25519:`"))?;
    let mut out = [0u8; N];
    match crate::base58::decode_into(data, &mut out[..]) {
        Ok(n) if n == N => Ok(out),
        Ok(n) => Err(reject(code, format!("expected {N} bytes, got {n}"))),
        Err(_) => Err(reject(code, format!("not base58, or longer than {N} bytes"))),
    }
}

fn encode_ed25519(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    write!(f, "ed25519:{}", crate::base58::encode(bytes))
}

/// An ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct PublicKey(pub [u8; 32]);

impl FromStr for PublicKey {
    type Err = IntentError;
    fn from_str(s: &str) -> Result<Self, IntentError> {
        decode_ed25519(s, ErrorCode::InvalidPublicKey).map(PublicKey)
    }
}
impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        encode_ed25519(f, &self.0)
    }
}
impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
serde_via_str!(PublicKey, "an ed25519 public key `ed25519:<base58>`");

impl PublicKey {
    /// The ed25519 implicit account this key controls: its 64 lowercase hex characters.
    pub fn implicit_account_id(&self) -> AccountId {
        let mut hex = String::with_capacity(64);
        for b in self.0 {
            hex.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            hex.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
        }
        // 64 lowercase hex chars are always a valid account id.
        AccountId::from_str(&hex).expect("64 hex characters form a valid account id")
    }

    /// True for a key of small order ("weak"): for such a key one signature can verify many
    /// messages (for `0100..00`, a constant signature verifies every message), so it may never
    /// sign, be registered, or name an implicit account that signs. Pure byte comparison, so
    /// the contract (host crypto) and dalek (off chain) agree; tests check it against
    /// curve25519-dalek's `is_small_order` for every small-order point.
    pub fn is_weak(&self) -> bool {
        is_small_order_encoding(&self.0)
    }

    /// The key an ed25519 implicit account is named after, or `None` for any other account.
    pub fn of_implicit_account(account: &AccountId) -> Option<PublicKey> {
        let s = account.as_str().as_bytes();
        if s.len() != 64 {
            return None;
        }
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let mut key = [0u8; 32];
        for (i, pair) in s.chunks_exact(2).enumerate() {
            key[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(PublicKey(key))
    }
}

/// Encodings of the 8 small-order points of edwards25519 (and the non-canonical y = p, p + 1),
/// compared with the x sign bit cleared, as libsodium's `has_small_order` does.
const SMALL_ORDER_ENCODINGS: [[u8; 32]; 7] = [
    // y = 0 (order 4)
    [0; 32],
    // y = 1: the identity (order 1)
    [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    // order 8
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf,
        0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
    ],
    // order 8
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20,
        0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
    ],
    // y = p - 1 (order 2)
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
    ],
    // y = p, non-canonical 0 (order 4)
    [
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
    ],
    // y = p + 1, non-canonical 1 (order 1)
    [
        0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
    ],
];

fn is_small_order_encoding(key: &[u8; 32]) -> bool {
    SMALL_ORDER_ENCODINGS
        .iter()
        .any(|weak| weak[..31] == key[..31] && weak[31] == key[31] & 0x7f)
}

/// An ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl FromStr for Signature {
    type Err = IntentError;
    /// `ed25519:<base58>` (NEAR's text form), or plain base64 of the 64 bytes: what wallets'
    /// NEP-413 `signMessage` returns, so their output is accepted as it comes.
    fn from_str(s: &str) -> Result<Self, IntentError> {
        if s.starts_with("ed25519:") {
            return decode_ed25519(s, ErrorCode::InvalidSignatureEncoding).map(Signature);
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(s).map_err(|_| {
            reject(ErrorCode::InvalidSignatureEncoding, "expected `ed25519:<base58>` or base64")
        })?;
        let arr: [u8; 64] = bytes.try_into().map_err(|b: Vec<u8>| {
            reject(ErrorCode::InvalidSignatureEncoding, format!("expected 64 bytes, got {}", b.len()))
        })?;
        Ok(Signature(arr))
    }
}
impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        encode_ed25519(f, &self.0)
    }
}
impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
serde_via_str!(Signature, "an ed25519 signature `ed25519:<base58>` or base64");

/// A NEP-413 nonce (v2): bytes 0..8 are its expiry (block timestamp in ns, little-endian u64),
/// bytes 8..32 random. Unordered: any unused, unexpired nonce is fine, in any order. The expiry
/// bounds how long the contract must remember it (DESIGN.md §2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct Nonce(pub [u8; 32]);

impl Nonce {
    pub fn new(expiry_ns: u64, random: [u8; 24]) -> Self {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&expiry_ns.to_le_bytes());
        bytes[8..].copy_from_slice(&random);
        Nonce(bytes)
    }

    /// After this block timestamp (ns) no intent with this nonce can execute.
    pub fn expiry_ns(&self) -> u64 {
        let mut le = [0u8; 8];
        le.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(le)
    }
}

impl FromStr for Nonce {
    type Err = IntentError;
    fn from_str(s: &str) -> Result<Self, IntentError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|_| reject(ErrorCode::InvalidNonce, "not base64"))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| reject(ErrorCode::InvalidNonce, format!("expected 32 bytes, got {}", b.len())))?;
        Ok(Nonce(arr))
    }
}
impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&base64::engine::general_purpose::STANDARD.encode(self.0))
    }
}
impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
serde_via_str!(Nonce, "a 32-byte nonce in base64");

/// The id of an intent: its NEP-413 hash. Text form: base58, like NEAR's `CryptoHash`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct IntentHash(pub [u8; 32]);

impl FromStr for IntentHash {
    type Err = IntentError;
    fn from_str(s: &str) -> Result<Self, IntentError> {
        let mut out = [0u8; 32];
        match crate::base58::decode_into(s, &mut out[..]) {
            Ok(32) => Ok(IntentHash(out)),
            _ => Err(reject(ErrorCode::MessageMalformed, "an intent hash is 32 bytes in base58")),
        }
    }
}
impl fmt::Display for IntentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::base58::encode(&self.0))
    }
}
impl fmt::Debug for IntentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
serde_via_str!(IntentHash, "a 32-byte hash in base58");

fn parse_decimal<T: FromStr>(s: &str, code: ErrorCode, what: &str) -> Result<T, IntentError> {
    // Only plain digits: no sign, no exponent, no whitespace (u128::from_str would accept `+1`).
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(reject(code, format!("{what} must be a whole number written in digits")));
    }
    s.parse().map_err(|_| reject(code, format!("{what} is too large")))
}

/// A token amount in the token's smallest unit (u128), as a decimal string in JSON.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct Amount(pub u128);

impl FromStr for Amount {
    type Err = IntentError;
    fn from_str(s: &str) -> Result<Self, IntentError> {
        parse_decimal(s, ErrorCode::InvalidAmount, "an amount").map(Amount)
    }
}
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
serde_via_str!(Amount, "an amount as a decimal string");

/// A signed balance change in a swap offer (an `i128`): negative gives, positive receives.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SignedAmount(pub i128);

impl FromStr for SignedAmount {
    type Err = IntentError;
    fn from_str(s: &str) -> Result<Self, IntentError> {
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let magnitude: u128 = parse_decimal(digits, ErrorCode::InvalidAmount, "a swap amount")?;
        let value = if negative {
            0i128.checked_sub_unsigned(magnitude)
        } else {
            i128::try_from(magnitude).ok()
        };
        value
            .map(SignedAmount)
            .ok_or_else(|| reject(ErrorCode::InvalidAmount, "a swap amount is too large"))
    }
}
impl fmt::Display for SignedAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl fmt::Debug for SignedAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
serde_via_str!(SignedAmount, "a signed amount as a decimal string");

/// A deadline: a block timestamp in nanoseconds (NEAR's `env::block_timestamp`), as a decimal
/// string in JSON. Nanoseconds rather than RFC 3339 keep date parsing out of the contract.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct Deadline(pub u64);

impl FromStr for Deadline {
    type Err = IntentError;
    fn from_str(s: &str) -> Result<Self, IntentError> {
        parse_decimal(s, ErrorCode::InvalidDeadline, "a deadline").map(Deadline)
    }
}
impl fmt::Display for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl fmt::Debug for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
serde_via_str!(Deadline, "a deadline in nanoseconds as a decimal string");

/// An asset held in the ledger. Balances are kept per token *contract*, so a token contract can
/// only ever mint balances of itself.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub enum TokenId {
    /// Native NEAR, in yoctoNEAR.
    Near,
    /// A NEP-141 fungible token, by its contract account.
    Nep141(AccountId),
}

impl FromStr for TokenId {
    type Err = IntentError;
    fn from_str(s: &str) -> Result<Self, IntentError> {
        if s == "near" {
            return Ok(TokenId::Near);
        }
        let account = s
            .strip_prefix("nep141:")
            .ok_or_else(|| reject(ErrorCode::InvalidToken, format!("unknown token `{s}`")))?;
        parse_account_id(account).map(TokenId::Nep141)
    }
}
impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenId::Near => f.write_str("near"),
            TokenId::Nep141(account) => write!(f, "nep141:{account}"),
        }
    }
}
impl fmt::Debug for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
serde_via_str!(TokenId, "`near` or `nep141:<token contract>`");

/// Parses a NEAR account id with this crate's error code (the dApp shows it next to the field).
pub fn parse_account_id(s: &str) -> Result<AccountId, IntentError> {
    AccountId::from_str(s).map_err(|e| reject(ErrorCode::InvalidAccountId, format!("`{s}`: {e}")))
}
