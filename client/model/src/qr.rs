//! QR codes for the receive screen: byte mode, error correction level M, versions 1 to 6 (up to
//! 106 bytes: any NEAR account id, 64 characters at most, fits). Written here rather than taken
//! from a crate: this much is about 2 KB gzip in the page, a general encoder several times that.
//! The algorithm follows Project Nayuki's QR Code generator; the e2e reads the drawn code back
//! with a real decoder (jsQR).

use crate::words::Problem;

/// A QR code: `size` × `size` modules, row-major, `true` = dark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Qr {
    pub size: usize,
    pub modules: Vec<bool>,
}

// Level M, versions 1..=6: error-correction codewords per block, and blocks.
const ECC_PER_BLOCK: [usize; 7] = [0, 10, 16, 26, 18, 24, 16];
const BLOCKS: [usize; 7] = [0, 1, 1, 1, 2, 2, 4];
/// Level M's two format bits.
const LEVEL_M: u32 = 0;

/// All codewords of a version (data and error correction), below version 7: the modules left
/// after the function patterns, over 8 (Nayuki's `getNumRawDataModules` with one alignment
/// pattern: `(25 * 2 - 10) * 2 - 55 = 25` modules less from version 2 on).
fn raw_codewords(v: usize) -> usize {
    let modules = (16 * v + 128) * v + 64 - if v >= 2 { 25 } else { 0 };
    modules / 8
}

fn data_codewords(v: usize) -> usize {
    raw_codewords(v) - ECC_PER_BLOCK[v] * BLOCKS[v]
}

/// GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1.
fn gf_mul(x: u8, y: u8) -> u8 {
    let mut z: u32 = 0;
    for i in (0..8).rev() {
        z = (z << 1) ^ ((z >> 7) * 0x11D);
        z ^= ((u32::from(y) >> i) & 1) * u32::from(x);
    }
    z as u8
}

fn rs_divisor(degree: usize) -> Vec<u8> {
    let mut result = vec![0u8; degree];
    result[degree - 1] = 1;
    let mut root: u8 = 1;
    for _ in 0..degree {
        for j in 0..degree {
            result[j] = gf_mul(result[j], root);
            if j + 1 < degree {
                result[j] ^= result[j + 1];
            }
        }
        root = gf_mul(root, 0x02);
    }
    result
}

fn rs_remainder(data: &[u8], divisor: &[u8]) -> Vec<u8> {
    let mut result = vec![0u8; divisor.len()];
    for &b in data {
        let factor = b ^ result.remove(0);
        result.push(0);
        for (r, &d) in result.iter_mut().zip(divisor) {
            *r ^= gf_mul(d, factor);
        }
    }
    result
}

struct Grid {
    size: usize,
    dark: Vec<bool>,
    function: Vec<bool>,
}

impl Grid {
    fn set(&mut self, x: usize, y: usize, dark: bool) {
        let i = y * self.size + x;
        self.dark[i] = dark;
        self.function[i] = true;
    }

    fn finder(&mut self, cx: usize, cy: usize) {
        for dy in -4i32..=4 {
            for dx in -4i32..=4 {
                let (x, y) = (cx as i32 + dx, cy as i32 + dy);
                if (0..self.size as i32).contains(&x) && (0..self.size as i32).contains(&y) {
                    let d = dx.abs().max(dy.abs());
                    self.set(x as usize, y as usize, d != 2 && d != 4);
                }
            }
        }
    }

    fn alignment(&mut self, cx: usize, cy: usize) {
        for dy in -2i32..=2 {
            for dx in -2i32..=2 {
                self.set((cx as i32 + dx) as usize, (cy as i32 + dy) as usize, dx.abs().max(dy.abs()) != 1);
            }
        }
    }

    fn format(&mut self, mask: u32) {
        let data = (LEVEL_M << 3) | mask;
        let mut rem = data;
        for _ in 0..10 {
            rem = (rem << 1) ^ ((rem >> 9) * 0x537);
        }
        let bits = ((data << 10) | rem) ^ 0x5412;
        let bit = |i: usize| (bits >> i) & 1 != 0;
        let s = self.size;
        for i in 0..=5 {
            self.set(8, i, bit(i));
        }
        self.set(8, 7, bit(6));
        self.set(8, 8, bit(7));
        self.set(7, 8, bit(8));
        for i in 9..15 {
            self.set(14 - i, 8, bit(i));
        }
        for i in 0..8 {
            self.set(s - 1 - i, 8, bit(i));
        }
        for i in 8..15 {
            self.set(8, s - 15 + i, bit(i));
        }
        self.set(8, s - 8, true); // the dark module
    }
}

fn masked(mask: u32, x: usize, y: usize) -> bool {
    match mask {
        0 => (x + y) % 2 == 0,
        1 => y % 2 == 0,
        2 => x % 3 == 0,
        3 => (x + y) % 3 == 0,
        4 => (x / 3 + y / 2) % 2 == 0,
        5 => x * y % 2 + x * y % 3 == 0,
        6 => (x * y % 2 + x * y % 3) % 2 == 0,
        _ => ((x + y) % 2 + x * y % 3) % 2 == 0,
    }
}

/// Encodes `text` in the smallest version that holds it.
pub fn encode(text: &[u8]) -> Result<Qr, Problem> {
    // Mode (4 bits) + count (8 bits) + data, in the smallest version with room.
    let v = (1..=6)
        .find(|&v| 12 + text.len() * 8 <= data_codewords(v) * 8)
        .ok_or_else(|| Problem::new(format!("{} bytes do not fit a small QR code", text.len())))?;
    let capacity = data_codewords(v);
    let mut bits: Vec<bool> = Vec::with_capacity(capacity * 8);
    let mut push = |value: u32, n: usize| (0..n).rev().for_each(|i| bits.push((value >> i) & 1 != 0));
    push(0b0100, 4);
    push(text.len() as u32, 8);
    text.iter().for_each(|&b| push(u32::from(b), 8));
    let terminator = (capacity * 8 - bits.len()).min(4);
    bits.extend(std::iter::repeat_n(false, terminator));
    while bits.len() % 8 != 0 {
        bits.push(false);
    }
    let mut data: Vec<u8> = bits.chunks(8).map(|c| c.iter().fold(0u8, |n, &b| n << 1 | u8::from(b))).collect();
    for pad in [0xEC, 0x11].into_iter().cycle() {
        if data.len() >= capacity {
            break;
        }
        data.push(pad);
    }

    // Split into blocks, add error correction to each, interleave.
    let (blocks, ecc) = (BLOCKS[v], ECC_PER_BLOCK[v]);
    let raw = raw_codewords(v);
    let short_blocks = blocks - raw % blocks;
    let short_len = raw / blocks;
    let divisor = rs_divisor(ecc);
    let mut split = Vec::with_capacity(blocks);
    let mut k = 0;
    for i in 0..blocks {
        let len = short_len - ecc + usize::from(i >= short_blocks);
        let mut block = data[k..k + len].to_vec();
        k += len;
        let e = rs_remainder(&block, &divisor);
        if i < short_blocks {
            block.push(0); // placeholder so every block has the same length
        }
        block.extend(e);
        split.push(block);
    }
    let mut codewords = Vec::with_capacity(raw);
    for i in 0..split[0].len() {
        for (j, block) in split.iter().enumerate() {
            if i != short_len - ecc || j >= short_blocks {
                codewords.push(block[i]);
            }
        }
    }

    // Function patterns, then the codewords in the zigzag, then the mask and format.
    let size = 17 + 4 * v;
    let mut g = Grid { size, dark: vec![false; size * size], function: vec![false; size * size] };
    for i in 0..size {
        g.set(6, i, i % 2 == 0);
        g.set(i, 6, i % 2 == 0);
    }
    g.finder(3, 3);
    g.finder(size - 4, 3);
    g.finder(3, size - 4);
    if v >= 2 {
        g.alignment(size - 7, size - 7);
    }
    g.format(0); // reserves the format areas; drawn again below
    let mut i = 0;
    let mut right = size - 1;
    while right >= 1 {
        if right == 6 {
            right = 5;
        }
        for vert in 0..size {
            for j in 0..2 {
                let x = right - j;
                let upward = (right + 1) & 2 == 0;
                let y = if upward { size - 1 - vert } else { vert };
                if !g.function[y * size + x] && i < codewords.len() * 8 {
                    g.dark[y * size + x] = (codewords[i >> 3] >> (7 - (i & 7))) & 1 != 0;
                    i += 1;
                }
            }
        }
        if right < 2 {
            break;
        }
        right -= 2;
    }
    // The mask closest to half dark (the spec scores more; readers read any mask).
    let apply = |g: &Grid, mask: u32| -> Vec<bool> {
        (0..size * size).map(|n| g.dark[n] ^ (!g.function[n] && masked(mask, n % size, n / size))).collect()
    };
    let mask = (0..8u32)
        .min_by_key(|&m| {
            let dark = apply(&g, m).iter().filter(|&&d| d).count();
            (dark * 2).abs_diff(size * size)
        })
        .unwrap_or(0);
    g.dark = apply(&g, mask);
    g.format(mask);
    Ok(Qr { size, modules: g.dark })
}

impl Qr {
    /// An SVG path of the dark modules, one `h1v1h-1z` square each, offset by a 4-module quiet
    /// zone (the viewBox is `0 0 size+8 size+8`).
    pub fn svg_path(&self) -> String {
        use std::fmt::Write as _;
        let mut d = String::new();
        for (n, &dark) in self.modules.iter().enumerate() {
            if dark {
                let _ = write!(d, "M{} {}h1v1h-1z", n % self.size + 4, n / self.size + 4);
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities_are_the_spec_tables() {
        // Level M data codewords, versions 1..=6 (ISO/IEC 18004 table 7).
        assert_eq!((1..=6).map(data_codewords).collect::<Vec<_>>(), vec![16, 28, 44, 64, 86, 108]);
        assert_eq!((1..=6).map(raw_codewords).collect::<Vec<_>>(), vec![26, 44, 70, 100, 134, 172]);
    }

    #[test]
    fn reed_solomon_matches_a_known_codeword() {
        // "HELLO WORLD" 1-M from Thonky's QR tutorial: data codewords and their 10 EC codewords.
        let data = [32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17];
        assert_eq!(rs_remainder(&data, &rs_divisor(10)), vec![196, 35, 39, 119, 235, 215, 231, 226, 93, 23]);
    }

    #[test]
    fn structure_and_format_bits() {
        let implicit = "98793cd91a3f870fb126f66285808c7e094afcfc4eda8a970f6648cdf0dbd6de";
        let qr = encode(implicit.as_bytes()).unwrap();
        assert_eq!(qr.size, 37, "64 characters take version 5");
        assert_eq!(encode(b"alice.testnet").unwrap().size, 21);
        let at = |x: usize, y: usize| qr.modules[y * qr.size + x];
        // Finder corners and centres, timing pattern, dark module.
        for (x, y) in [(0, 0), (qr.size - 1, 0), (0, qr.size - 1), (3, 3), (qr.size - 4, 3)] {
            assert!(at(x, y));
        }
        assert!((8..qr.size - 8).all(|i| at(i, 6) == (i % 2 == 0) && at(6, i) == (i % 2 == 0)));
        assert!(at(8, qr.size - 8));
        // The two copies of the format bits agree, and decode to level M with a valid BCH code.
        let first: u32 = (0..15).fold(0, |n, i| {
            let (x, y) = match i {
                0..=5 => (8, i),
                6 => (8, 7),
                7 => (8, 8),
                8 => (7, 8),
                _ => (14 - i, 8),
            };
            n | (u32::from(at(x, y)) << i)
        });
        let second: u32 = (0..15).fold(0, |n, i| {
            let (x, y) = if i < 8 { (qr.size - 1 - i, 8) } else { (8, qr.size - 15 + i) };
            n | (u32::from(at(x, y)) << i)
        });
        assert_eq!(first, second);
        let raw = first ^ 0x5412;
        assert_eq!(raw >> 13, LEVEL_M);
        let mut rem = raw >> 10;
        for _ in 0..10 {
            rem = (rem << 1) ^ ((rem >> 9) * 0x537);
        }
        assert_eq!(rem, raw & 0x3FF);
        assert!(encode(&[b'a'; 107]).is_err());
        assert!(qr.svg_path().starts_with("M4 4h1v1h-1z"));
    }
}
