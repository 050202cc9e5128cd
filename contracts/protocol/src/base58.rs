//! Bitcoin-alphabet base58 (NEAR's keys, signatures and hashes), on 32-bit limbs.
//!
//! Why not the `bs58` crate: it converts one digit at a time over the whole byte string, so an
//! 88-character signature costs about 5,600 byte steps; in the contract every wasm instruction is
//! paid gas, and decoding a signature and a key plus encoding a hash twice was a quarter of the
//! instructions an intent costs. Here five digits (58^5 < 2^32) meet one limb at a time: about
//! 18 × 16 steps for a signature. Byte-for-byte the same results as `bs58` (property-tested).

const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
/// 58^5, the largest power of 58 below 2^32.
const BIG: u64 = 656_356_768;
const POW: [u32; 6] = [1, 58, 3_364, 195_112, 11_316_496, 656_356_768];

const fn digit_table() -> [u8; 128] {
    let mut t = [0xff; 128];
    let mut i = 0;
    while i < 58 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
}
const DIGITS: [u8; 128] = digit_table();

/// Why a text is not base58 for the buffer given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A character outside the alphabet.
    InvalidCharacter,
    /// It decodes to more bytes than the buffer holds.
    TooLong,
}

/// Decodes `text` into the start of `out`; returns how many bytes it wrote. Values of more than 64
/// significant bytes (after the leading zeros) are `TooLong` whatever `out` holds.
pub fn decode_into(text: &str, out: &mut [u8]) -> Result<usize, DecodeError> {
    let text = text.as_bytes();
    let zeros = text.iter().take_while(|&&c| c == b'1').count();
    if zeros > out.len() {
        return Err(DecodeError::TooLong);
    }
    // Little-endian limbs of the value after the leading '1's; one spare limb so an overflow
    // past `out` is seen (checked below) before it could wrap.
    let mut limbs = [0u32; 66 / 4 + 2];
    let max_limbs = (out.len() / 4 + 2).min(limbs.len());
    let mut used = 0usize;
    for chunk in text[zeros..].chunks(5) {
        let mut carry = 0u64;
        for &c in chunk {
            let d = *DIGITS.get(c as usize).ok_or(DecodeError::InvalidCharacter)?;
            if d == 0xff {
                return Err(DecodeError::InvalidCharacter);
            }
            carry = carry * 58 + u64::from(d);
        }
        let mul = u64::from(POW[chunk.len()]);
        for limb in &mut limbs[..used] {
            let t = u64::from(*limb) * mul + carry;
            *limb = t as u32;
            carry = t >> 32;
        }
        while carry > 0 {
            if used == max_limbs {
                return Err(DecodeError::TooLong);
            }
            limbs[used] = carry as u32;
            used += 1;
            carry >>= 32;
        }
    }
    // Significant bytes of the value, most significant first.
    let mut value = [0u8; 4 * (66 / 4 + 2)];
    for (i, limb) in limbs[..used].iter().rev().enumerate() {
        value[4 * i..4 * i + 4].copy_from_slice(&limb.to_be_bytes());
    }
    let value = &value[..4 * used];
    let significant = &value[value.iter().take_while(|&&b| b == 0).count()..];
    let n = zeros + significant.len();
    if n > out.len() {
        return Err(DecodeError::TooLong);
    }
    out[..zeros].fill(0);
    out[zeros..n].copy_from_slice(significant);
    Ok(n)
}

/// Encodes `bytes` (at most 64, what NEAR's types need) as base58.
pub fn encode(bytes: &[u8]) -> String {
    assert!(bytes.len() <= 64, "base58::encode takes at most 64 bytes");
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    let rest = &bytes[zeros..];
    // Big-endian limbs, the first one partial.
    let mut limbs = [0u32; 16];
    let n = rest.len().div_ceil(4);
    let head = rest.len() - 4 * (n.saturating_sub(1));
    for (i, limb) in limbs[..n].iter_mut().enumerate() {
        let (start, end) = if i == 0 { (0, head) } else { (head + 4 * (i - 1), head + 4 * i) };
        *limb = rest[start..end].iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
    }
    // Digits, least significant first: repeated division by 58^5.
    let mut digits = [0u8; 90];
    let mut len = 0;
    let mut first = 0; // limbs[..first] are zero
    while first < n {
        let mut rem = 0u64;
        for limb in &mut limbs[first..n] {
            let t = (rem << 32) | u64::from(*limb);
            *limb = (t / BIG) as u32;
            rem = t % BIG;
        }
        while first < n && limbs[first] == 0 {
            first += 1;
        }
        for _ in 0..5 {
            digits[len] = (rem % 58) as u8;
            rem /= 58;
            len += 1;
        }
    }
    // The last group may end in zero digits that are not part of the number.
    while len > 0 && digits[len - 1] == 0 {
        len -= 1;
    }
    let mut s = String::with_capacity(zeros + len);
    s.extend(std::iter::repeat_n('1', zeros));
    s.extend(digits[..len].iter().rev().map(|&d| ALPHABET[d as usize] as char));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vectors() {
        assert_eq!(encode(&[]), "");
        assert_eq!(encode(&[0]), "1");
        assert_eq!(encode(&[0, 0, 1]), "112");
        assert_eq!(encode(b"hello world"), "StV1DL6CwTryKyV");
        assert_eq!(encode(&[0xff; 32]), "JEKNVnkbo3jma5nREBBJCDoXFVeKkD56V3xKrvRmWxFG");
        let mut out = [0u8; 32];
        assert_eq!(decode_into("StV1DL6CwTryKyV", &mut out), Ok(11));
        assert_eq!(&out[..11], b"hello world");
        assert_eq!(decode_into("0OIl", &mut out), Err(DecodeError::InvalidCharacter));
        assert_eq!(decode_into("é", &mut out), Err(DecodeError::InvalidCharacter));
        assert_eq!(decode_into(&"1".repeat(33), &mut out), Err(DecodeError::TooLong));
        assert_eq!(decode_into(&"z".repeat(45), &mut out), Err(DecodeError::TooLong));
        assert_eq!(decode_into(&"z".repeat(1000), &mut out), Err(DecodeError::TooLong));
    }

    proptest! {
        #[test]
        fn encode_matches_bs58(bytes in proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 0..=64)) {
            prop_assert_eq!(encode(&bytes), bs58::encode(&bytes).into_string());
        }

        #[test]
        fn decode_matches_bs58(bytes in proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 0..=64), cap in 0usize..=66) {
            let text = bs58::encode(&bytes).into_string();
            let mut ours = vec![0u8; cap];
            let mut theirs = vec![0u8; cap];
            let a = decode_into(&text, &mut ours);
            let b = bs58::decode(&text).onto(&mut theirs[..]);
            prop_assert_eq!(a.ok(), b.ok());
            if a.is_ok() {
                prop_assert_eq!(&ours[..a.unwrap()], &bytes[..]);
            }
        }

        #[test]
        fn decode_agrees_on_any_text(text in "[1-9A-Za-z]{0,100}", cap in 0usize..=66) {
            let mut ours = vec![0u8; cap];
            let mut theirs = vec![0u8; cap];
            let a = decode_into(&text, &mut ours).ok();
            let b = bs58::decode(&text).onto(&mut theirs[..]).ok();
            prop_assert_eq!(a, b);
            if let Some(n) = a {
                prop_assert_eq!(&ours[..n], &theirs[..n]);
            }
        }
    }
}
