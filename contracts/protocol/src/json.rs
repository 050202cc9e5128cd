//! A small strict JSON reader and writer for the exact shapes Outpost exchanges, so the intents
//! contract carries no serde_json (about a third of its wasm) and every component parses a signed
//! `message` with the same code ([`crate::validate::decode_intent`] uses [`decode_intent`] on every
//! target).
//!
//! The reader follows serde_json + serde derive, verdict for verdict (the differential property
//! tests in `tests/json.rs` hold it to that):
//! * RFC 8259 syntax with serde_json's strictness: no trailing commas, no comments, nothing but
//!   whitespace (space, tab, CR, LF) after the value, control characters refused inside strings,
//!   escapes `\" \\ \/ \b \f \n \r \t \uXXXX` only, UTF-16 surrogates only in valid pairs, strings
//!   valid UTF-8, numbers by the JSON grammar (`-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`).
//! * Objects decode into structs as serde derive does: a repeated field is an error, a missing
//!   one is an error unless it is optional, `null` for an optional field is the field absent,
//!   unknown fields are errors where the type says `deny_unknown_fields` and are skipped (still
//!   checked for syntax, as serde_json's `IgnoredAny` does: strings in them are not checked for
//!   UTF-8 or surrogate pairs) elsewhere. Maps keep the last of repeated keys (`BTreeMap::insert`).
//! * Values where a text type is expected must be strings, parsed by that type's `FromStr` (the
//!   same code serde's impls call).
//!
//! Deliberate differences, both serde data-model artifacts no JSON producer of intents emits:
//! serde derive also accepts a struct written as a JSON array of its fields in order
//! (`["alice.near", "123", [...]]`), and a unit enum variant written as a one-key object
//! (`"type": {"transfer": null}`). This reader refuses both: a signed message is an object of
//! named fields, and accepting other spellings of the same intent would only widen what a
//! relayer, a wallet or an auditor must recognise as one.
//!
//! Nested skipped values are walked with an explicit stack (no recursion, so no stack overflow
//! on deep input, and no depth limit, as serde_json's `ignore_value`); typed values nest at most
//! four deep by their shapes.

use crate::error::{ErrorCode, IntentError};
use crate::intent::{ActionKind, WireAction};
use crate::{Action, Fee, Intent, SignedIntent};
use std::borrow::Cow;
use std::fmt::{self, Display, Write as _};
use std::str::FromStr;

/// A JSON syntax or shape error, with the byte offset where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(pub String);

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub type Result<T> = core::result::Result<T, Error>;

/// A pull reader over one JSON text.
pub struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    pub fn new(s: &'a [u8]) -> Self {
        Reader { s, i: 0 }
    }

    /// The byte offset the reader is at.
    pub fn pos(&self) -> usize {
        self.i
    }

    /// The bytes between `from` and the current position.
    pub fn since(&self, from: usize) -> &'a [u8] {
        &self.s[from..self.i]
    }

    /// Goes back to an earlier position (to skip a value that failed to decode).
    pub fn rewind(&mut self, to: usize) {
        self.i = to;
    }

    /// An error at the current position.
    pub fn error(&self, msg: impl Display) -> Error {
        Error(format!("{msg} at byte {}", self.i))
    }

    fn fail<T>(&self, msg: &str) -> Result<T> {
        Err(self.error(msg))
    }

    /// Skips whitespace; the next byte, not consumed.
    pub fn peek(&mut self) -> Option<u8> {
        while let Some(&c) = self.s.get(self.i) {
            if !matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(c);
            }
            self.i += 1;
        }
        None
    }

    /// Nothing but whitespace may follow the value.
    pub fn finish(&mut self) -> Result<()> {
        match self.peek() {
            Some(_) => self.fail("trailing characters"),
            None => Ok(()),
        }
    }

    fn eat(&mut self, c: u8, what: &str) -> Result<()> {
        match self.peek() {
            Some(b) if b == c => {
                self.i += 1;
                Ok(())
            }
            Some(_) => self.fail(what),
            None => self.fail("EOF while parsing a value"),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<()> {
        if self.s.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(())
        } else {
            self.fail("expected ident")
        }
    }

    /// Consumes `null` if that is what comes next (an optional field absent).
    pub fn null(&mut self) -> Result<bool> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            return Ok(true);
        }
        Ok(false)
    }

    pub fn bool(&mut self) -> Result<bool> {
        match self.peek() {
            Some(b't') => self.literal(b"true").map(|_| true),
            Some(b'f') => self.literal(b"false").map(|_| false),
            _ => self.fail("invalid type: expected a boolean"),
        }
    }

    /// A string value, unescaped; borrowed when it has no escapes.
    pub fn str(&mut self) -> Result<Cow<'a, str>> {
        self.eat(b'"', "invalid type: expected a string")?;
        self.string_body(true)
    }

    /// A string value parsed by `T::from_str` (the text types, account ids, `u128`).
    pub fn parse<T: FromStr>(&mut self) -> Result<T>
    where
        T::Err: Display,
    {
        let s = self.str()?;
        s.parse().map_err(|e| self.error(e))
    }

    /// `Some` of a string value parsed by `T::from_str`, `None` for `null`.
    pub fn parse_opt<T: FromStr>(&mut self) -> Result<Option<T>>
    where
        T::Err: Display,
    {
        if self.null()? {
            return Ok(None);
        }
        self.parse().map(Some)
    }

    /// The rest of a string whose opening quote was read. With `decode` false the string is only
    /// skipped: escapes and control characters are checked, UTF-8 and surrogate pairs are not (as
    /// serde_json's `ignore_str`), and the result is empty.
    fn string_body(&mut self, decode: bool) -> Result<Cow<'a, str>> {
        let start = self.i;
        let mut buf: Option<Vec<u8>> = None;
        let mut run = start;
        loop {
            self.skip_plain();
            let Some(&c) = self.s.get(self.i) else {
                return self.fail("EOF while parsing a string");
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' if !decode => self.escape_into(None)?,
                b'\\' => {
                    let out = buf.get_or_insert_with(Vec::new);
                    out.extend_from_slice(&self.s[run..self.i - 1]);
                    self.escape_into(Some(out))?;
                    run = self.i;
                }
                0..=0x1f => return self.fail("control character (\\u0000-\\u001F) found while parsing a string"),
                _ => {}
            }
        }
        if !decode {
            return Ok(Cow::Borrowed(""));
        }
        let end = self.i - 1;
        match buf {
            None => match core::str::from_utf8(&self.s[start..end]) {
                Ok(s) => Ok(Cow::Borrowed(s)),
                Err(_) => self.fail("invalid unicode code point"),
            },
            Some(mut out) => {
                out.extend_from_slice(&self.s[run..end]);
                String::from_utf8(out).map(Cow::Owned).map_err(|_| self.error("invalid unicode code point"))
            }
        }
    }

    /// Skips string bytes that need no attention (not `"`, `\`, or a control character) eight at
    /// a time, as serde_json does, stopping at the first one that does: a signed intent is mostly
    /// long strings (the escaped message, the key, the signature).
    fn skip_plain(&mut self) {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        while let Some(chunk) = self.s.get(self.i..self.i + 8) {
            let Ok(word) = <[u8; 8]>::try_from(chunk) else { return };
            let x = u64::from_le_bytes(word);
            let quote = x ^ (ONES * u64::from(b'"'));
            let backslash = x ^ (ONES * u64::from(b'\\'));
            // Bytes below 0x20 and zero bytes of `quote` and `backslash`: the lowest flagged byte
            // is exact (spurious flags only appear above a real one).
            let special = ((x.wrapping_sub(ONES * 0x20) & !x) | (quote.wrapping_sub(ONES) & !quote) | (backslash.wrapping_sub(ONES) & !backslash)) & HIGH;
            if special != 0 {
                self.i += (special.trailing_zeros() / 8) as usize;
                return;
            }
            self.i += 8;
        }
    }

    fn hex4(&mut self) -> Result<u16> {
        let Some(digits) = self.s.get(self.i..self.i + 4) else {
            self.i = self.s.len();
            return self.fail("EOF while parsing a string");
        };
        self.i += 4;
        let mut n = 0u16;
        for &d in digits {
            let v = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return self.fail("invalid escape"),
            };
            n = n << 4 | u16::from(v);
        }
        Ok(n)
    }

    /// One escape after its backslash. With `out`, appends what it stands for (surrogates must
    /// pair up); without, only checks its syntax (a skipped string, as serde_json's `IgnoredAny`).
    fn escape_into(&mut self, out: Option<&mut Vec<u8>>) -> Result<()> {
        let Some(&c) = self.s.get(self.i) else {
            return self.fail("EOF while parsing a string");
        };
        self.i += 1;
        let byte = match c {
            b'"' | b'\\' | b'/' => c,
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let n = self.hex4()?;
                let Some(out) = out else { return Ok(()) };
                let code = match n {
                    0xDC00..=0xDFFF => return self.fail("lone leading surrogate in hex escape"),
                    0xD800..=0xDBFF => {
                        if self.s.get(self.i..self.i + 2) != Some(b"\\u") {
                            self.i = (self.i + 1).min(self.s.len());
                            return self.fail("unexpected end of hex escape");
                        }
                        self.i += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return self.fail("lone leading surrogate in hex escape");
                        }
                        0x10000 + ((u32::from(n) - 0xD800) << 10 | (u32::from(low) - 0xDC00))
                    }
                    _ => u32::from(n),
                };
                // Not a surrogate here, so always a char.
                let ch = char::from_u32(code).unwrap_or('\u{fffd}');
                out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                return Ok(());
            }
            _ => return self.fail("invalid escape"),
        };
        if let Some(out) = out {
            out.push(byte);
        }
        Ok(())
    }

    /// Between the elements of an array or object (`close` is its closing byte): false when it
    /// ends here (the closing byte consumed), true when an element follows (its comma consumed,
    /// unless it is the first). A comma before the close is an error, as in serde_json.
    fn next_item(&mut self, first: &mut bool, close: u8) -> Result<bool> {
        let is_first = core::mem::replace(first, false);
        match self.peek() {
            Some(c) if c == close => {
                self.i += 1;
                return Ok(false);
            }
            Some(b',') if !is_first => self.i += 1,
            Some(_) if is_first => {}
            Some(_) => return self.fail(if close == b'}' { "expected `,` or `}`" } else { "expected `,` or `]`" }),
            None => return self.fail("EOF while parsing a list or an object"),
        }
        match self.peek() {
            Some(c) if c == close => self.fail("trailing comma"),
            Some(_) => Ok(true),
            None => self.fail("EOF while parsing a value"),
        }
    }

    /// An object key and its colon, after `next_item` (only checked unless `decode`).
    fn key(&mut self, decode: bool) -> Result<Cow<'a, str>> {
        if self.s.get(self.i) != Some(&b'"') {
            return self.fail("key must be a string");
        }
        self.i += 1;
        let key = self.string_body(decode)?;
        self.eat(b':', "expected `:`")?;
        Ok(key)
    }

    /// An object: `f` gets each key (unescaped) and must consume its value.
    pub fn object(&mut self, f: &mut dyn FnMut(&mut Self, &str) -> Result<()>) -> Result<()> {
        self.eat(b'{', "invalid type: expected an object")?;
        let mut first = true;
        while self.next_item(&mut first, b'}')? {
            let key = self.key(true)?;
            f(self, &key)?;
        }
        Ok(())
    }

    /// An array: `f` must consume each element.
    pub fn array(&mut self, f: &mut dyn FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.eat(b'[', "invalid type: expected an array")?;
        let mut first = true;
        while self.next_item(&mut first, b']')? {
            f(self)?;
        }
        Ok(())
    }

    /// Skips one value of any kind, checking its syntax (serde_json's `IgnoredAny`). Iterative.
    pub fn skip(&mut self) -> Result<()> {
        // Open containers, innermost last: true for an object.
        let mut stack: Vec<bool> = Vec::new();
        let mut first = false;
        loop {
            match self.peek() {
                Some(b'n') => self.literal(b"null")?,
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(b'"') => {
                    self.i += 1;
                    self.string_body(false)?;
                }
                Some(c @ (b'[' | b'{')) => {
                    self.i += 1;
                    stack.push(c == b'{');
                    first = true;
                }
                Some(_) => return self.fail("expected value"),
                None => return self.fail("EOF while parsing a value"),
            }
            // The next element of the innermost open container, closing those that end.
            loop {
                let Some(&is_object) = stack.last() else { return Ok(()) };
                if self.next_item(&mut first, if is_object { b'}' } else { b']' })? {
                    if is_object {
                        self.key(false)?;
                    }
                    break;
                }
                stack.pop();
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    /// A number by the JSON grammar (only ever skipped: no field of ours is a JSON number).
    fn number(&mut self) -> Result<()> {
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.s.get(self.i) {
            Some(b'0') => {
                self.i += 1;
                if matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
                    return self.fail("invalid number");
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.fail("invalid number"),
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return self.fail("invalid number");
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return self.fail("invalid number");
            }
        }
        Ok(())
    }

    /// An object decoded into named fields: `f` returns false for a key it does not know, which
    /// is an error when `deny_unknown` and skipped otherwise.
    pub fn fields(&mut self, deny_unknown: bool, f: &mut dyn FnMut(&mut Self, &str) -> Result<bool>) -> Result<()> {
        self.object(&mut |r, key| {
            if f(r, key)? {
                Ok(())
            } else if deny_unknown {
                Err(r.error(format_args!("unknown field `{key}`")))
            } else {
                r.skip()
            }
        })
    }
}

/// Sets a field seen for the first time; a repeated field is an error, as in serde derive (also
/// when its first value was `null`).
pub fn once<'a, T>(slot: &mut Option<T>, r: &mut Reader<'a>, name: &str, value: impl FnOnce(&mut Reader<'a>) -> Result<T>) -> Result<bool> {
    if slot.is_some() {
        return Err(r.error(format_args!("duplicate field `{name}`")));
    }
    *slot = Some(value(r)?);
    Ok(true)
}

/// A required field's value.
pub fn required<T>(slot: Option<T>, name: &str) -> Result<T> {
    slot.ok_or_else(|| Error(format!("missing field `{name}`")))
}

/// Decodes a whole text with `f`: nothing but whitespace may follow.
pub fn from_slice<'a, T>(s: &'a [u8], f: impl FnOnce(&mut Reader<'a>) -> Result<T>) -> Result<T> {
    let mut r = Reader::new(s);
    let value = f(&mut r)?;
    r.finish()?;
    Ok(value)
}

// ---- the shapes of Outpost's wire format ----

/// An [`Intent`] (the signed `message`): `deny_unknown_fields`, `fee` optional.
pub fn intent(r: &mut Reader<'_>) -> Result<Intent> {
    let (mut signer_id, mut deadline, mut actions, mut fee) = (None, None, None, None);
    r.fields(true, &mut |r, key| match key {
        "signer_id" => once(&mut signer_id, r, key, Reader::parse),
        "deadline" => once(&mut deadline, r, key, Reader::parse),
        "actions" => once(&mut actions, r, key, |r| {
            let mut list = Vec::new();
            r.array(&mut |r| {
                list.push(action(r)?);
                Ok(())
            })?;
            Ok(list)
        }),
        "fee" => once(&mut fee, r, key, |r| if r.null()? { Ok(None) } else { self::fee(r).map(Some) }),
        _ => Ok(false),
    })?;
    Ok(Intent {
        signer_id: required(signer_id, "signer_id")?,
        deadline: required(deadline, "deadline")?,
        actions: required(actions, "actions")?,
        fee: fee.flatten(),
    })
}

fn fee(r: &mut Reader<'_>) -> Result<Fee> {
    let (mut token, mut amount) = (None, None);
    r.fields(true, &mut |r, key| match key {
        "token" => once(&mut token, r, key, Reader::parse),
        "amount" => once(&mut amount, r, key, Reader::parse),
        _ => Ok(false),
    })?;
    Ok(Fee { token: required(token, "token")?, amount: required(amount, "amount")? })
}

/// An action: the flat [`WireAction`] (every field any action has, all optional, plus `type`),
/// then the same `TryFrom` serde uses, so both agree on which fields each type takes.
fn action(r: &mut Reader<'_>) -> Result<Action> {
    let mut kind = None;
    let (mut token, mut amount, mut receiver_id, mut memo, mut diff, mut public_key, mut nonces) =
        (None, None, None, None, None, None, None);
    r.fields(true, &mut |r, key| match key {
        "type" => once(&mut kind, r, key, |r| {
            let s = r.str()?;
            ActionKind::from_name(&s).ok_or_else(|| r.error(format_args!("unknown variant `{s}`")))
        }),
        "token" => once(&mut token, r, key, Reader::parse_opt),
        "amount" => once(&mut amount, r, key, Reader::parse_opt),
        "receiver_id" => once(&mut receiver_id, r, key, Reader::parse_opt),
        "memo" => once(&mut memo, r, key, |r| if r.null()? { Ok(None) } else { r.str().map(|s| Some(s.into_owned())) }),
        "public_key" => once(&mut public_key, r, key, Reader::parse_opt),
        "diff" => once(&mut diff, r, key, |r| {
            if r.null()? {
                return Ok(None);
            }
            let mut map = std::collections::BTreeMap::new();
            r.object(&mut |r, token| {
                let token = token.parse().map_err(|e| r.error(e))?;
                map.insert(token, r.parse()?);
                Ok(())
            })?;
            Ok(Some(map))
        }),
        "nonces" => once(&mut nonces, r, key, |r| {
            if r.null()? {
                return Ok(None);
            }
            let mut list = Vec::new();
            r.array(&mut |r| {
                list.push(r.parse()?);
                Ok(())
            })?;
            Ok(Some(list))
        }),
        _ => Ok(false),
    })?;
    let wire = WireAction {
        kind: required(kind, "type")?,
        token: token.flatten(),
        amount: amount.flatten(),
        receiver_id: receiver_id.flatten(),
        memo: memo.flatten(),
        diff: diff.flatten(),
        public_key: public_key.flatten(),
        nonces: nonces.flatten(),
    };
    Action::try_from(wire).map_err(|e| r.error(e))
}

/// A [`SignedIntent`]: `deny_unknown_fields`, `callback_url` optional.
pub fn signed_intent(r: &mut Reader<'_>) -> Result<SignedIntent> {
    let (mut message, mut nonce, mut recipient, mut callback_url, mut public_key, mut signature) =
        (None, None, None, None, None, None);
    r.fields(true, &mut |r, key| match key {
        "message" => once(&mut message, r, key, |r| r.str().map(Cow::into_owned)),
        "nonce" => once(&mut nonce, r, key, Reader::parse),
        "recipient" => once(&mut recipient, r, key, |r| r.str().map(Cow::into_owned)),
        "callback_url" => once(&mut callback_url, r, key, |r| if r.null()? { Ok(None) } else { r.str().map(|s| Some(s.into_owned())) }),
        "public_key" => once(&mut public_key, r, key, Reader::parse),
        "signature" => once(&mut signature, r, key, Reader::parse),
        _ => Ok(false),
    })?;
    Ok(SignedIntent {
        message: required(message, "message")?,
        nonce: required(nonce, "nonce")?,
        recipient: required(recipient, "recipient")?,
        callback_url: callback_url.flatten(),
        public_key: required(public_key, "public_key")?,
        signature: required(signature, "signature")?,
    })
}

/// The signed `message` as an [`Intent`]; any failure is `MESSAGE_MALFORMED`.
pub fn decode_intent(message: &str) -> core::result::Result<Intent, IntentError> {
    from_slice(message.as_bytes(), intent).map_err(|e| IntentError::new(ErrorCode::MessageMalformed, e.0))
}

/// One JSON text as a [`SignedIntent`].
pub fn decode_signed_intent(text: &[u8]) -> Result<SignedIntent> {
    from_slice(text, signed_intent)
}

// ---- writing ----

/// Appends `s` as a JSON string, escaped exactly as serde_json does (`"`, `\`, and control
/// characters; `\b \f \n \r \t` by name, the others as `\u00xx`).
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let named = match b {
            b'"' => '"',
            b'\\' => '\\',
            8 => 'b',
            12 => 'f',
            b'\n' => 'n',
            b'\r' => 'r',
            b'\t' => 't',
            0..=0x1f => 'u',
            _ => continue,
        };
        out.push_str(&s[run..i]);
        out.push('\\');
        out.push(named);
        if named == 'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("00");
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// Appends a value's `Display` form as a JSON string (ids, tokens, amounts, keys, hashes).
pub fn push_display(out: &mut String, v: impl Display) {
    let mut text = String::new();
    let _ = write!(text, "{v}");
    push_str(out, &text);
}

/// Appends a number (or any `Display` that is valid JSON as it is).
pub fn push_raw(out: &mut String, v: impl Display) {
    let _ = write!(out, "{v}");
}

/// Writes `{"k": v, ...}` one field at a time, commas included.
pub struct ObjectWriter<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        ObjectWriter { out, first: true }
    }

    /// Writes the key; the caller appends the value to the returned string.
    pub fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        push_str(self.out, key);
        self.out.push(':');
        self.out
    }

    pub fn str(&mut self, key: &str, v: &str) -> &mut Self {
        push_str(self.key(key), v);
        self
    }

    pub fn display(&mut self, key: &str, v: impl Display) -> &mut Self {
        push_display(self.key(key), v);
        self
    }

    pub fn raw(&mut self, key: &str, v: impl Display) -> &mut Self {
        push_raw(self.key(key), v);
        self
    }

    pub fn end(&mut self) {
        self.out.push('}');
    }
}

/// Appends `[f(x), ...]`.
pub fn push_array<T>(out: &mut String, items: impl IntoIterator<Item = T>, mut f: impl FnMut(&mut String, T)) {
    out.push('[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        f(out, item);
    }
    out.push(']');
}

/// Mutations of JSON texts for the differential tests (here, not in a test file, because the
/// protocol's and the contract's tests both use them; unused code never reaches the wasm).
#[doc(hidden)]
pub mod fuzz {
    /// Fragments that stress a JSON reader: escapes and surrogates, numbers, literals, structure,
    /// whitespace, control characters, non-ASCII and invalid UTF-8.
    pub const TOKENS: &[&[u8]] = &[
        b"\"", b"\\", b"\\u", b"\\ud800", b"\\udc00", b"\\ud83d\\ude00", b"\\ud800\\u0041", b"\\u00e9", b"\\x", b"\\/",
        b"\\n", b"\\\"", b",", b",,", b":", b"{", b"}", b"[", b"]", b"{}", b"[]", b"null", b"nul", b"true", b"false",
        b"0", b"-0", b"01", b"1.", b"1.5e+3", b"-", b"1e", b"123456789012345678901234567890", b"1", b" ", b"\t", b"\r\n",
        b"\x01", b"\x1f", b"\x7f", "é".as_bytes(), "😀".as_bytes(), b"\xff", b"\xc3", b"/*c*/", b"//", b"\"\"", b"x",
    ];

    /// Fields to insert right after an opening brace: duplicates of real fields, `null`s for
    /// optional ones, wrong types, unknown ones.
    pub const FIELDS: &[&str] = &[
        "\"signer_id\":\"alice.near\",", "\"deadline\":\"5\",", "\"actions\":[],", "\"fee\":null,", "\"fee\":{\"token\":\"near\",\"amount\":\"1\"},",
        "\"type\":\"transfer\",", "\"token\":null,", "\"token\":\"near\",", "\"amount\":\"1\",", "\"amount\":1,", "\"memo\":null,", "\"memo\":\"m\",",
        "\"receiver_id\":null,", "\"diff\":null,", "\"diff\":{},", "\"public_key\":null,", "\"nonces\":null,", "\"nonces\":[],",
        "\"message\":\"{}\",", "\"recipient\":\"r\",", "\"callback_url\":null,", "\"callback_url\":\"u\",", "\"signature\":\"s\",",
        "\"nonce\":\"AA==\",", "\"unknown\":1,", "\"unknown\":{\"a\":[1,{\"b\":null}]},", "\"signed\":[],", "\"caller_id\":null,",
        "\"attached\":null,", "\"attached\":\"5\",", "\"receiver_id\":\"bob.near\",", "\"owner_id\":\"o.near\",", "\"tokens\":[],",
        "\"sig\\u006eer_id\":\"alice.near\",", "\"\\ud800\":1,", "\"account_id\":\"a.near\",", "\"msg\":\"\",", "\"sender_id\":\"s.near\",",
    ];

    /// Values to put in place of a string value.
    pub const VALUES: &[&str] = &["1", "-1", "1.5", "01", "-0", "1.", "-", "1e5", "1E+2", "0.0e-1", "2e", "-.5", "null", "true", "[]", "{}", "\"\"", "\"x\"", "[\"a\"]", "{\"a\":1}", "\"\\u0000\"", "\"\\ud800\""];

    /// Applies `ops` (kind, where, what) to `text`. Kinds: truncate, delete a byte, insert a
    /// token, insert a field after a `{`, replace a string value, write a character as a `\u`
    /// escape (a surrogate pair beyond the BMP), insert whitespace, append a trailing comma or
    /// garbage, swap two bytes, insert a token right after a quote (inside a key or a string).
    pub fn mutate(text: &[u8], ops: &[(u8, u16, u16)]) -> Vec<u8> {
        let mut t = text.to_vec();
        for &(kind, at, what) in ops {
            let at_in = |len: usize| if len == 0 { 0 } else { usize::from(at) % (len + 1) };
            match kind % 10 {
                0 => t.truncate(at_in(t.len())),
                1 if !t.is_empty() => {
                    t.remove(at_in(t.len() - 1));
                }
                2 => {
                    let i = at_in(t.len());
                    t.splice(i..i, TOKENS[usize::from(what) % TOKENS.len()].iter().copied());
                }
                3 => {
                    let braces: Vec<usize> = t.iter().enumerate().filter(|(_, &b)| b == b'{').map(|(i, _)| i + 1).collect();
                    if !braces.is_empty() {
                        let i = braces[usize::from(at) % braces.len()];
                        t.splice(i..i, FIELDS[usize::from(what) % FIELDS.len()].bytes());
                    }
                }
                4 => {
                    // The n-th `:"..."` (a string value), replaced whole.
                    let starts: Vec<usize> = t.windows(2).enumerate().filter(|(_, w)| w == b":\"").map(|(i, _)| i + 1).collect();
                    if !starts.is_empty() {
                        let s = starts[usize::from(at) % starts.len()];
                        let mut e = s + 1;
                        while e < t.len() && t[e] != b'"' {
                            e += if t[e] == b'\\' { 2 } else { 1 };
                        }
                        let e = (e + 1).min(t.len());
                        t.splice(s..e, VALUES[usize::from(what) % VALUES.len()].bytes());
                    }
                }
                5 => {
                    if let Ok(s) = core::str::from_utf8(&t) {
                        let chars: Vec<(usize, char)> = s.char_indices().collect();
                        if !chars.is_empty() {
                            let (i, c) = chars[usize::from(at) % chars.len()];
                            let mut units = [0u16; 2];
                            let esc: String = c.encode_utf16(&mut units).iter().map(|u| format!("\\u{u:04X}")).collect();
                            t.splice(i..i + c.len_utf8(), esc.bytes());
                        }
                    }
                }
                6 => {
                    let i = at_in(t.len());
                    t.splice(i..i, [b" ", b"\n", b"\t", b"\r", b"\x0b", b"\x0c"][usize::from(what) % 6].iter().copied());
                }
                7 => t.extend_from_slice([&b","[..], b" ", b"x", b"}", b"]", b"\n", b"{}", b"null"][usize::from(what) % 8]),
                8 if t.len() > 1 => {
                    let i = at_in(t.len() - 2);
                    t.swap(i, i + 1);
                }
                9 => {
                    let quotes: Vec<usize> = t.iter().enumerate().filter(|(_, &b)| b == b'"').map(|(i, _)| i + 1).collect();
                    if !quotes.is_empty() {
                        let i = quotes[usize::from(at) % quotes.len()];
                        t.splice(i..i, TOKENS[usize::from(what) % TOKENS.len()].iter().copied());
                    }
                }
                _ => {}
            }
        }
        t
    }
}
