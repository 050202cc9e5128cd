//! Compose forms → an [`Intent`], validated by the protocol crate as the user types. Each problem
//! is attached to the field that causes it so the UI can show it right there.

use crate::words::{explain, Problem};
use outpost_protocol::limits::MAX_MESSAGE_BYTES;
use outpost_protocol::text::parse_account_id;
use outpost_protocol::validate::validate_intent;
use outpost_protocol::{Action, AccountId, Amount, Deadline, ErrorCode, Fee, Intent, Nonce, SecretKey, SignedAmount, SignedIntent, TokenId};
use std::collections::BTreeMap;

/// Form fields that can carry an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Token,
    Amount,
    Receiver,
    Memo,
    GiveToken,
    GiveAmount,
    GetToken,
    GetAmount,
    ValidHours,
    /// The optional relayer fee.
    Fee,
    /// Problems of the whole intent (size, signer).
    Form,
}

/// Errors by field; empty means the draft is valid.
pub type FieldErrors = BTreeMap<Field, String>;

/// What kind of intent the user composes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Transfer,
    Withdraw,
    Swap,
}

/// The raw text of the compose form, exactly as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    pub kind: Kind,
    pub token: String,
    pub amount: String,
    pub receiver: String,
    pub memo: String,
    pub give_token: String,
    pub give_amount: String,
    pub get_token: String,
    pub get_amount: String,
    /// How long the intent stays valid, in hours (offline intents may wait a while for a relayer).
    pub valid_hours: String,
    /// Optional relayer fee in NEAR (paid from the ledger to whoever submits the intent); empty
    /// for none.
    pub fee: String,
}

impl Default for Draft {
    fn default() -> Self {
        Draft {
            kind: Kind::Transfer,
            token: "near".into(),
            amount: String::new(),
            receiver: String::new(),
            memo: String::new(),
            give_token: "near".into(),
            give_amount: String::new(),
            get_token: String::new(),
            get_amount: String::new(),
            valid_hours: "168".into(),
            fee: String::new(),
        }
    }
}

/// Decimals of a token, for reading "1.5" as smallest units. NEAR has 24; NEP-141 tokens say theirs
/// in metadata (the network config lists known ones); unknown tokens are read in smallest units.
pub trait Decimals {
    fn decimals(&self, token: &TokenId) -> u8;
}

impl<F: Fn(&TokenId) -> u8> Decimals for F {
    fn decimals(&self, token: &TokenId) -> u8 {
        self(token)
    }
}

/// Parses "1.25" with `decimals` into smallest units. Errors say what to type instead.
pub fn parse_units(text: &str, decimals: u8) -> Result<u128, String> {
    let text = text.trim().replace('_', "");
    if text.is_empty() {
        return Err("enter an amount".into());
    }
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty() && frac.is_empty() || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(format!("`{text}` is not a number; use digits and at most one `.`"));
    }
    if frac.len() > decimals as usize {
        return Err(if decimals == 0 {
            "this token has no fractions; enter a whole number".into()
        } else {
            format!("at most {decimals} digits after the `.` for this token")
        });
    }
    let digits = format!("{whole}{frac:0<width$}", width = decimals as usize);
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    digits.parse::<u128>().map_err(|_| "the amount is too large".into())
}

/// Formats smallest units with `decimals` (trailing zeros dropped).
pub fn format_units(amount: u128, decimals: u8) -> String {
    let s = format!("{amount:0>width$}", width = decimals as usize + 1);
    let (whole, frac) = s.split_at(s.len() - decimals as usize);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{frac}")
    }
}

fn token(text: &str) -> Result<TokenId, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("choose a token (`near` or `nep141:<token contract>`)".into());
    }
    text.parse::<TokenId>().map_err(|e| explain(&e))
}

fn account(text: &str) -> Result<AccountId, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("enter the receiving account (e.g. bob.testnet or a 64-character implicit account)".into());
    }
    parse_account_id(text).map_err(|e| explain(&e))
}

/// Keeps the value, or records the field's error.
fn take<T>(errors: &mut FieldErrors, field: Field, r: Result<T, String>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            errors.insert(field, e);
            None
        }
    }
}

/// Where a protocol rule's failure belongs on the form.
fn field_of(code: ErrorCode, kind: Kind) -> Field {
    match (code, kind) {
        (ErrorCode::ZeroAmount | ErrorCode::InvalidAmount, Kind::Swap) => Field::GiveAmount,
        (ErrorCode::ZeroAmount | ErrorCode::InvalidAmount, _) => Field::Amount,
        (ErrorCode::SelfTransfer | ErrorCode::InvalidAccountId, _) => Field::Receiver,
        (ErrorCode::MemoTooLong, _) => Field::Memo,
        (ErrorCode::InvalidToken | ErrorCode::TokenDiffOneSided | ErrorCode::EmptyTokenDiff, Kind::Swap) => Field::GetToken,
        (ErrorCode::InvalidToken, _) => Field::Token,
        (ErrorCode::DeadlineExpired | ErrorCode::DeadlineTooFar | ErrorCode::InvalidDeadline, _) => Field::ValidHours,
        _ => Field::Form,
    }
}

impl Draft {
    /// Builds and validates the intent for `signer` at `now_ns`, or says what is wrong per field.
    /// Every field is checked, so the user sees all problems at once.
    // `dyn`, not `impl`: one copy of these in the page whatever the caller's closure type.
    pub fn build(&self, signer: &AccountId, now_ns: u64, decimals: &dyn Decimals) -> Result<Intent, FieldErrors> {
        let mut errors = FieldErrors::new();
        let hours = take(&mut errors, Field::ValidHours,
            self.valid_hours
                .trim()
                .parse::<u64>()
                .map_err(|_| "enter how many hours the intent stays valid (a whole number)".to_owned())
                .and_then(|h| if h == 0 { Err("an intent must stay valid for at least 1 hour".into()) } else { Ok(h) }),
        );
        let fee = if self.fee.trim().is_empty() {
            Some(None)
        } else {
            take(&mut errors, Field::Fee,
                parse_units(&self.fee, 24).and_then(|a| if a == 0 { Err("leave the fee empty for no fee".into()) } else { Ok(a) }))
                .map(|amount| Some(Fee { token: TokenId::Near, amount: Amount(amount) }))
        };
        let action = match self.kind {
            Kind::Transfer | Kind::Withdraw => {
                let token = take(&mut errors, Field::Token, token(&self.token));
                let amount = token
                    .as_ref()
                    .and_then(|t| take(&mut errors, Field::Amount, parse_units(&self.amount, decimals.decimals(t))));
                let receiver = take(&mut errors, Field::Receiver, account(&self.receiver));
                let memo = (!self.memo.is_empty()).then(|| self.memo.clone());
                match (token, amount, receiver) {
                    (Some(token), Some(amount), Some(receiver_id)) => Some(if self.kind == Kind::Transfer {
                        Action::Transfer { token, amount: Amount(amount), receiver_id, memo }
                    } else {
                        Action::Withdraw { token, amount: Amount(amount), receiver_id, memo }
                    }),
                    _ => {
                        // Still check the memo, so an over-long memo shows up with the other errors.
                        if let Err(e) = outpost_protocol::validate::check_memo(memo.as_deref()) {
                            errors.insert(Field::Memo, explain(&e));
                        }
                        None
                    }
                }
            }
            Kind::Swap => {
                let give = take(&mut errors, Field::GiveToken, token(&self.give_token));
                let give_amount = give
                    .as_ref()
                    .and_then(|t| take(&mut errors, Field::GiveAmount, parse_units(&self.give_amount, decimals.decimals(t))));
                let get = take(&mut errors, Field::GetToken, token(&self.get_token));
                let get_amount = get
                    .as_ref()
                    .and_then(|t| take(&mut errors, Field::GetAmount, parse_units(&self.get_amount, decimals.decimals(t))));
                match (give, give_amount, get, get_amount) {
                    (Some(give), Some(ga), Some(get), Some(gb)) => {
                        if give == get {
                            errors.insert(Field::GetToken, "a swap gives one token and receives another".into());
                            None
                        } else {
                            let neg = i128::try_from(ga).ok().map(|v| -v);
                            let pos = i128::try_from(gb).ok();
                            match (neg, pos) {
                                (Some(neg), Some(pos)) => Some(Action::TokenDiff {
                                    diff: BTreeMap::from([(give, SignedAmount(neg)), (get, SignedAmount(pos))]),
                                }),
                                (None, _) => {
                                    errors.insert(Field::GiveAmount, "the amount is too large".into());
                                    None
                                }
                                (_, None) => {
                                    errors.insert(Field::GetAmount, "the amount is too large".into());
                                    None
                                }
                            }
                        }
                    }
                    _ => None,
                }
            }
        };
        let (Some(action), Some(hours), Some(fee)) = (action, hours, fee) else {
            return Err(errors);
        };
        let deadline = now_ns.saturating_add(hours.saturating_mul(3_600_000_000_000));
        let intent = Intent { signer_id: signer.clone(), deadline: Deadline(deadline), actions: vec![action], fee };
        // The protocol's rules, the same the contract runs; attach the failure to its field.
        if let Err(mut e) = validate_intent(&intent, now_ns) {
            // The form makes one action; "action 0 (transfer): " would only be noise next to a field.
            if let Some(rest) = e.detail.strip_prefix("action 0 (").and_then(|r| r.split_once("): ")) {
                e.detail = rest.1.to_owned();
            }
            errors.insert(field_of(e.code, self.kind), explain(&e));
        }
        if let Err(e) = check_message_size(&intent) {
            errors.insert(Field::Form, e.0);
        }
        if errors.is_empty() {
            Ok(intent)
        } else {
            Err(errors)
        }
    }
}

fn check_message_size(intent: &Intent) -> Result<(), Problem> {
    let len = intent.to_message().len();
    if len > MAX_MESSAGE_BYTES {
        return Err(Problem::new(format!("the intent is {len} bytes; at most {MAX_MESSAGE_BYTES} can be signed")));
    }
    Ok(())
}

/// A cancellation of earlier intents: burns their nonces on chain.
pub fn cancellation(signer: &AccountId, nonces: Vec<Nonce>, now_ns: u64, valid_hours: u64) -> Result<Intent, Problem> {
    let intent = Intent {
        signer_id: signer.clone(),
        deadline: Deadline(now_ns.saturating_add(valid_hours.saturating_mul(3_600_000_000_000))),
        actions: vec![Action::InvalidateNonces { nonces }],
        fee: None,
    };
    validate_intent(&intent, now_ns).map_err(|e| Problem::new(explain(&e)))?;
    Ok(intent)
}

/// A fresh v2 nonce for `intent`: it expires with the intent's deadline (so the contract can
/// forget it soon after), the other 24 bytes random. Local keys and wallets alike sign with one.
pub fn fresh_nonce(intent: &Intent) -> Result<Nonce, Problem> {
    Ok(Nonce::new(intent.deadline.0, crate::keys::random_bytes()?))
}

/// Signs `intent` for the intents contract `recipient` with a [`fresh_nonce`].
pub fn sign(key: &SecretKey, intent: &Intent, recipient: &str) -> Result<SignedIntent, Problem> {
    Ok(key.sign_intent(intent, fresh_nonce(intent)?, recipient))
}

/// A one-line human summary of an intent for the queue list.
pub fn summarize(intent: &Intent, decimals: &dyn Decimals) -> String {
    let parts: Vec<String> = intent
        .actions
        .iter()
        .map(|a| match a {
            Action::Transfer { token, amount, receiver_id, .. } => {
                format!("send {} {} to {receiver_id}", format_units(amount.0, decimals.decimals(token)), short(token))
            }
            Action::Withdraw { token, amount, receiver_id, .. } => {
                format!("withdraw {} {} to {receiver_id}", format_units(amount.0, decimals.decimals(token)), short(token))
            }
            Action::TokenDiff { diff } => {
                let side = |neg: bool| {
                    diff.iter()
                        .filter(|(_, v)| (v.0 < 0) == neg)
                        .map(|(t, v)| format!("{} {}", format_units(v.0.unsigned_abs(), decimals.decimals(t)), short(t)))
                        .collect::<Vec<_>>()
                        .join(" + ")
                };
                format!("swap offer: give {} for {}", side(true), side(false))
            }
            Action::AddPublicKey { public_key } => format!("add key {public_key}"),
            Action::RemovePublicKey { public_key } => format!("remove key {public_key}"),
            Action::InvalidateNonces { nonces } => format!("cancel {} intent(s)", nonces.len()),
        })
        .collect();
    parts.join("; ")
}

pub(crate) fn short(token: &TokenId) -> String {
    match token {
        TokenId::Near => "NEAR".into(),
        TokenId::Nep141(a) => a.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outpost_protocol::{verify_signed_intent, DalekCrypto};

    const NOW: u64 = 1_800_000_000_000_000_000;

    fn dec(t: &TokenId) -> u8 {
        match t {
            TokenId::Near => 24,
            TokenId::Nep141(_) => 6,
        }
    }

    fn signer() -> AccountId {
        "alice.testnet".parse().unwrap()
    }

    fn transfer(amount: &str, receiver: &str, memo: &str) -> Draft {
        Draft { amount: amount.into(), receiver: receiver.into(), memo: memo.into(), ..Draft::default() }
    }

    #[test]
    fn units_parse_and_format() {
        assert_eq!(parse_units("1.5", 24), Ok(1_500_000_000_000_000_000_000_000));
        assert_eq!(parse_units(" 0.000001 ", 6), Ok(1));
        assert_eq!(parse_units("12", 0), Ok(12));
        assert_eq!(parse_units(".5", 1), Ok(5));
        assert_eq!(parse_units("0", 6), Ok(0));
        assert!(parse_units("1.2345678", 6).unwrap_err().contains("at most 6 digits"));
        assert!(parse_units("1.5", 0).unwrap_err().contains("whole number"));
        assert!(parse_units("1e5", 6).unwrap_err().contains("not a number"));
        assert!(parse_units("-1", 6).unwrap_err().contains("not a number"));
        assert!(parse_units(".", 6).unwrap_err().contains("not a number"));
        assert!(parse_units("", 6).unwrap_err().contains("enter an amount"));
        assert!(parse_units("999999999999999999999999999999999999999999", 0).unwrap_err().contains("too large"));
        assert_eq!(format_units(1_500_000_000_000_000_000_000_000, 24), "1.5");
        assert_eq!(format_units(1, 6), "0.000001");
        assert_eq!(format_units(0, 6), "0");
        assert_eq!(format_units(42, 0), "42");
    }

    #[test]
    fn valid_transfer_builds_signs_and_verifies() {
        let intent = transfer("2.5", "bob.testnet", "lunch").build(&signer(), NOW, &dec).unwrap();
        assert_eq!(intent.deadline.0, NOW + 168 * 3_600_000_000_000);
        match &intent.actions[0] {
            Action::Transfer { amount, memo, .. } => {
                assert_eq!(amount.0, 2_500_000_000_000_000_000_000_000);
                assert_eq!(memo.as_deref(), Some("lunch"));
            }
            other => panic!("{other:?}"),
        }
        let (key, _) = crate::keys::generate().unwrap();
        let signed = sign(&key, &intent, "intents.test.near").unwrap();
        verify_signed_intent(&DalekCrypto, &signed, "intents.test.near", NOW).unwrap();
        assert_eq!(summarize(&intent, &dec), "send 2.5 NEAR to bob.testnet");
    }

    #[test]
    fn errors_land_on_their_fields() {
        let e = transfer("0", "bob.testnet", "").build(&signer(), NOW, &dec).unwrap_err();
        assert_eq!(e.get(&Field::Amount).unwrap(), "the amount must be greater than zero");
        assert_eq!(e.len(), 1);

        let e = transfer("1", "Not An Account!", "").build(&signer(), NOW, &dec).unwrap_err();
        assert!(e[&Field::Receiver].starts_with("not a valid NEAR account id"), "{e:?}");

        let e = transfer("1", "bob.testnet", &"x".repeat(300)).build(&signer(), NOW, &dec).unwrap_err();
        assert!(e[&Field::Memo].starts_with("the memo is too long"), "{e:?}");
        assert_eq!(e[&Field::Memo], "the memo is too long: 300 bytes, at most 256");

        // All three at once: each field shows its own.
        let e = transfer("0", "BAD", &"x".repeat(300)).build(&signer(), NOW, &dec).unwrap_err();
        assert!(e.contains_key(&Field::Receiver) && e.contains_key(&Field::Memo), "{e:?}");

        let e = transfer("1", "alice.testnet", "").build(&signer(), NOW, &dec).unwrap_err();
        assert_eq!(e[&Field::Receiver], "a transfer to yourself does nothing");

        let mut d = transfer("1", "bob.testnet", "");
        d.valid_hours = "10000".into();
        assert!(d.build(&signer(), NOW, &dec).unwrap_err()[&Field::ValidHours].starts_with("the deadline is further ahead"));
        d.valid_hours = "0".into();
        assert!(d.build(&signer(), NOW, &dec).unwrap_err()[&Field::ValidHours].contains("at least 1 hour"));
        d.valid_hours = "soon".into();
        assert!(d.build(&signer(), NOW, &dec).is_err());

        let mut d = transfer("1", "bob.testnet", "");
        d.token = "usdc".into();
        assert!(d.build(&signer(), NOW, &dec).unwrap_err()[&Field::Token].contains("unknown token `usdc`"));
    }

    #[test]
    fn optional_relayer_fee() {
        let d = transfer("1", "bob.testnet", "");
        assert_eq!(d.build(&signer(), NOW, &dec).unwrap().fee, None);
        let paid = Draft { fee: "0.01".into(), ..d.clone() };
        let intent = paid.build(&signer(), NOW, &dec).unwrap();
        assert_eq!(intent.fee, Some(Fee { token: TokenId::Near, amount: Amount(10_000_000_000_000_000_000_000) }));
        for bad in ["0", "x", "1.0000000000000000000000001"] {
            let e = Draft { fee: bad.into(), ..d.clone() }.build(&signer(), NOW, &dec).unwrap_err();
            assert!(e.contains_key(&Field::Fee), "{bad}: {e:?}");
        }
    }

    #[test]
    fn signed_nonces_expire_with_the_deadline() {
        let intent = transfer("1", "bob.testnet", "").build(&signer(), NOW, &dec).unwrap();
        let key = SecretKey::from_seed([3; 32]);
        let a = sign(&key, &intent, "intents.test.near").unwrap();
        let b = sign(&key, &intent, "intents.test.near").unwrap();
        assert_eq!(a.nonce.expiry_ns(), intent.deadline.0);
        assert_ne!(a.nonce, b.nonce, "the rest is random");
        let v = outpost_protocol::verify_signed_intent(&outpost_protocol::DalekCrypto, &a, "intents.test.near", NOW).unwrap();
        assert_eq!(v.nonce, a.nonce);
    }

    #[test]
    fn swap_offers() {
        let d = Draft {
            kind: Kind::Swap,
            give_token: "nep141:usdc.testnet".into(),
            give_amount: "10".into(),
            get_token: "near".into(),
            get_amount: "2".into(),
            ..Draft::default()
        };
        let intent = d.build(&signer(), NOW, &dec).unwrap();
        assert_eq!(summarize(&intent, &dec), "swap offer: give 10 usdc.testnet for 2 NEAR");
        let same = Draft { get_token: "nep141:usdc.testnet".into(), ..d.clone() };
        assert!(same.build(&signer(), NOW, &dec).unwrap_err().contains_key(&Field::GetToken));
        let zero = Draft { give_amount: "0".into(), ..d };
        assert_eq!(zero.build(&signer(), NOW, &dec).unwrap_err().keys().collect::<Vec<_>>(), vec![&Field::GiveAmount]);
    }

    #[test]
    fn withdraw_and_cancellation() {
        let d = Draft { kind: Kind::Withdraw, ..transfer("1", "alice.testnet", "") };
        // Withdrawing to yourself is the normal case.
        assert!(d.build(&signer(), NOW, &dec).is_ok());
        let c = cancellation(&signer(), vec![Nonce::new(NOW + 3_600_000_000_000, [1; 24])], NOW, 24).unwrap();
        assert_eq!(summarize(&c, &dec), "cancel 1 intent(s)");
        assert!(cancellation(&signer(), vec![], NOW, 24).unwrap_err().0.contains("at least one nonce"));
    }
}
