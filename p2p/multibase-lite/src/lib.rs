//! A small stand-in for the `multibase` crate, patched in for the whole workspace. libp2p's
//! `multiaddr` is its only user, and needs four bases: base58btc (peer ids), base32 lower (onion
//! and garlic addresses), base64 and base64url (certhashes, onion3). The crate it replaces links
//! every base of the spec (base2 to base256emoji) through generic codecs: about 70 KB of the
//! browser's wasm before optimization, for code the page never runs. Same API for these four; any
//! other base code is `Error::UnknownBase`, as an unknown code already was.

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use std::fmt;

/// The multibase bases multiaddr uses.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum Base {
    /// RFC 4648 base32, lower case, no padding (`b`).
    Base32Lower,
    /// Bitcoin's base58 alphabet (`z`).
    Base58Btc,
    /// RFC 4648 base64, no padding (`m`).
    Base64,
    /// RFC 4648 base64 with the URL alphabet, no padding (`u`).
    Base64Url,
}

/// Why a string does not decode.
#[derive(PartialEq, Eq, Clone, Debug)]
pub enum Error {
    /// Unknown (or, here, unsupported) base code.
    UnknownBase(char),
    /// Invalid string.
    InvalidBaseString,
}

/// This crate's result type.
pub type Result<T> = core::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Error::UnknownBase(code) => write!(f, "Unknown base code: {code}"),
            Error::InvalidBaseString => f.write_str("Invalid base string"),
        }
    }
}

impl std::error::Error for Error {}

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

impl Base {
    /// The base with this multibase prefix.
    pub fn from_code(code: char) -> Result<Self> {
        match code {
            'b' => Ok(Base::Base32Lower),
            'z' => Ok(Base::Base58Btc),
            'm' => Ok(Base::Base64),
            'u' => Ok(Base::Base64Url),
            _ => Err(Error::UnknownBase(code)),
        }
    }

    /// Its multibase prefix.
    pub fn code(&self) -> char {
        match self {
            Base::Base32Lower => 'b',
            Base::Base58Btc => 'z',
            Base::Base64 => 'm',
            Base::Base64Url => 'u',
        }
    }

    /// `input` in this base (no prefix).
    pub fn encode<I: AsRef<[u8]>>(&self, input: I) -> String {
        let input = input.as_ref();
        match self {
            Base::Base32Lower => base32_encode(input),
            Base::Base58Btc => bs58::encode(input).into_string(),
            Base::Base64 => STANDARD_NO_PAD.encode(input),
            Base::Base64Url => URL_SAFE_NO_PAD.encode(input),
        }
    }

    /// The bytes `input` (no prefix) stands for in this base.
    pub fn decode<I: AsRef<str>>(&self, input: I) -> Result<Vec<u8>> {
        let input = input.as_ref();
        match self {
            Base::Base32Lower => base32_decode(input),
            Base::Base58Btc => bs58::decode(input).into_vec().map_err(|_| Error::InvalidBaseString),
            Base::Base64 => STANDARD_NO_PAD.decode(input).map_err(|_| Error::InvalidBaseString),
            Base::Base64Url => URL_SAFE_NO_PAD.decode(input).map_err(|_| Error::InvalidBaseString),
        }
    }
}

/// Decodes a prefixed multibase string.
pub fn decode<T: AsRef<str>>(input: T) -> Result<(Base, Vec<u8>)> {
    let input = input.as_ref();
    let code = input.chars().next().ok_or(Error::InvalidBaseString)?;
    let base = Base::from_code(code)?;
    Ok((base, base.decode(&input[code.len_utf8()..])?))
}

/// Encodes `input` as a prefixed multibase string.
pub fn encode<T: AsRef<[u8]>>(base: Base, input: T) -> String {
    let mut encoded = base.encode(input);
    encoded.insert(0, base.code());
    encoded
}

fn base32_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in input {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Strict, as RFC 4648 decoders are: only the alphabet, no length that no encoding has, and the
/// unused low bits of the last symbol zero (so each byte string has exactly one spelling).
fn base32_decode(input: &str) -> Result<Vec<u8>> {
    if matches!(input.len() % 8, 1 | 3 | 6) {
        return Err(Error::InvalidBaseString);
    }
    let mut out = Vec::with_capacity(input.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in input.bytes() {
        let value = BASE32.iter().position(|&a| a == c).ok_or(Error::InvalidBaseString)? as u32;
        buffer = ((buffer << 5) | value) & 0xfff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    if buffer & ((1 << bits) - 1) != 0 {
        return Err(Error::InvalidBaseString);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_specs_test_vectors() {
        // multiformats/multibase tests/test1.csv ("yes mani !") and the crate's own doc example.
        let yes = b"yes mani !";
        assert_eq!(encode(Base::Base32Lower, yes), "bpfsxgidnmfxgsibb");
        assert_eq!(encode(Base::Base58Btc, yes), "z7paNL19xttacUY");
        assert_eq!(encode(Base::Base64, yes), "meWVzIG1hbmkgIQ");
        assert_eq!(encode(Base::Base64Url, yes), "ueWVzIG1hbmkgIQ");
        assert_eq!(encode(Base::Base58Btc, b"hello"), "zCn8eVZg");
        assert_eq!(encode(Base::Base64Url, [0xfb, 0xff]), "u-_8");
        assert_eq!(encode(Base::Base64, [0xfb, 0xff]), "m+/8");
        for s in ["bpfsxgidnmfxgsibb", "z7paNL19xttacUY", "meWVzIG1hbmkgIQ", "ueWVzIG1hbmkgIQ"] {
            assert_eq!(decode(s).unwrap().1, yes, "{s}");
        }
        assert_eq!(decode("f796573"), Err(Error::UnknownBase('f')));
        assert_eq!(decode(""), Err(Error::InvalidBaseString));
        assert_eq!(decode("bme").unwrap().1, b"a");
        // Not in the alphabet, a length no encoding has, unused bits set, padding, other alphabet.
        for bad in ["bpfsxgidnmfxgsib1", "bA", "bmeaaaa", "bmf", "z0OIl", "meWVzIG1hbmkgIQ==", "u+/8"] {
            assert_eq!(decode(bad), Err(Error::InvalidBaseString), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn every_base_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            for base in [Base::Base32Lower, Base::Base58Btc, Base::Base64, Base::Base64Url] {
                let text = encode(base, &bytes);
                prop_assert_eq!(decode(&text), Ok((base, bytes.clone())));
            }
        }
    }
}
