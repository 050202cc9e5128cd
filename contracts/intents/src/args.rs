//! The contract's method arguments, decoded with `outpost_protocol::json` instead of near-sdk's
//! serde_json path, field for field what near-sdk's generated `Input` structs accept: an object,
//! each field at most once, unknown fields skipped, `Option` fields absent or `null`, `U128` a
//! string parsed by `u128::from_str`. Plain Rust so the differential tests run natively
//! (`tests/args.rs` compares every decoder with serde_json + serde derive). One deliberate
//! difference, as for intents (`outpost_protocol::json`): serde derive also read an argument
//! struct from a JSON array of its values in order (`["owner.near"]`); these take objects only.

use outpost_protocol::error::{ErrorCode, IntentError};
use outpost_protocol::json::{self, once, required, Reader};
use outpost_protocol::{AccountId, Amount, Nonce, PublicKey, SignedIntent, TokenId};

/// `execute_intents` / `simulate_intents`: `{"signed": [SignedIntent], "caller_id"?, "attached"?}`.
/// Items that are JSON but not a `SignedIntent` come as `Err` (`MESSAGE_MALFORMED`), so the
/// batch reports them by index; anything else wrong fails the whole call.
#[derive(Debug)]
pub struct BatchArgs {
    pub signed: Vec<Result<SignedIntent, IntentError>>,
    pub caller_id: Option<AccountId>,
    pub attached: Option<Amount>,
}

pub fn batch(input: &[u8]) -> json::Result<BatchArgs> {
    json::from_slice(input, |r| {
        let (mut signed, mut caller_id, mut attached) = (None, None, None);
        r.fields(false, &mut |r, k| match k {
            "signed" => once(&mut signed, r, k, |r| {
                let mut items = Vec::new();
                r.array(&mut |r| {
                    items.push(batch_item(r)?);
                    Ok(())
                })?;
                Ok(items)
            }),
            "caller_id" => once(&mut caller_id, r, k, Reader::parse_opt),
            "attached" => once(&mut attached, r, k, Reader::parse_opt),
            _ => Ok(false),
        })?;
        Ok(BatchArgs { signed: required(signed, "signed")?, caller_id: caller_id.flatten(), attached: attached.flatten() })
    })
}

/// One item in one pass; only when it fails is it walked again, as any JSON value (what
/// serde_json's `RawValue` accepted item by item before, UTF-8 check included).
fn batch_item(r: &mut Reader<'_>) -> json::Result<Result<SignedIntent, IntentError>> {
    r.peek();
    let start = r.pos();
    match json::signed_intent(r) {
        Ok(item) => Ok(Ok(item)),
        Err(e) => {
            r.rewind(start);
            r.skip()?;
            if core::str::from_utf8(r.since(start)).is_err() {
                return Err(r.error("invalid unicode code point"));
            }
            Ok(Err(IntentError::new(ErrorCode::MessageMalformed, e.0)))
        }
    }
}

/// An argument object of string fields (or `null` where optional); `f` takes the ones it knows.
fn object(input: &[u8], f: &mut dyn FnMut(&mut Reader<'_>, &str) -> json::Result<bool>) -> json::Result<()> {
    json::from_slice(input, |r| r.fields(false, &mut |r, k| f(r, k)))
}

/// `{"<name>": <string parsed as T>}` (`new`, `set_owner`, `public_keys_of`, keys).
pub fn one<T: core::str::FromStr>(input: &[u8], name: &str) -> json::Result<T>
where
    T::Err: core::fmt::Display,
{
    let mut v = None;
    object(input, &mut |r, k| if k == name { once(&mut v, r, k, Reader::parse) } else { Ok(false) })?;
    required(v, name)
}

/// `{"account_id", "<name>"}` (`get_balance`: token; `is_nonce_used`, `nonce_status`: nonce).
pub fn account_and<T: core::str::FromStr>(input: &[u8], name: &str) -> json::Result<(AccountId, T)>
where
    T::Err: core::fmt::Display,
{
    let (mut account, mut v) = (None, None);
    object(input, &mut |r, k| match k {
        "account_id" => once(&mut account, r, k, Reader::parse),
        _ if k == name => once(&mut v, r, k, Reader::parse),
        _ => Ok(false),
    })?;
    Ok((required(account, "account_id")?, required(v, name)?))
}

/// `deposit`: `{"receiver_id"?}`.
pub fn deposit(input: &[u8]) -> json::Result<Option<AccountId>> {
    let mut receiver = None;
    object(input, &mut |r, k| if k == "receiver_id" { once(&mut receiver, r, k, Reader::parse_opt) } else { Ok(false) })?;
    Ok(receiver.flatten())
}

/// `get_balances`: `{"account_id", "tokens": [token]}`.
pub fn balances(input: &[u8]) -> json::Result<(AccountId, Vec<TokenId>)> {
    let (mut account, mut tokens) = (None, None);
    object(input, &mut |r, k| match k {
        "account_id" => once(&mut account, r, k, Reader::parse),
        "tokens" => once(&mut tokens, r, k, |r| {
            let mut list = Vec::new();
            r.array(&mut |r| {
                list.push(r.parse()?);
                Ok(())
            })?;
            Ok(list)
        }),
        _ => Ok(false),
    })?;
    Ok((required(account, "account_id")?, required(tokens, "tokens")?))
}

/// `prune_nonces`: `{"nonces": [[account_id, nonce]]}` (each pair exactly two elements).
pub fn prune(input: &[u8]) -> json::Result<Vec<(AccountId, Nonce)>> {
    let mut nonces = None;
    object(input, &mut |r, k| {
        if k != "nonces" {
            return Ok(false);
        }
        once(&mut nonces, r, k, |r| {
            let mut list = Vec::new();
            r.array(&mut |r| {
                let (mut account, mut nonce, mut n) = (None, None, 0);
                r.array(&mut |r| {
                    n += 1;
                    match n {
                        1 => account = Some(r.parse()?),
                        2 => nonce = Some(r.parse()?),
                        _ => return Err(r.error("trailing characters")),
                    }
                    Ok(())
                })?;
                match (account, nonce) {
                    (Some(a), Some(n)) => list.push((a, n)),
                    _ => return Err(r.error("invalid length, expected a tuple of size 2")),
                }
                Ok(())
            })?;
            Ok(list)
        })
    })?;
    required(nonces, "nonces")
}

/// `ft_on_transfer`: `{"sender_id", "amount" (U128), "msg"}`.
pub fn ft_on_transfer(input: &[u8]) -> json::Result<(AccountId, u128, String)> {
    let (mut sender, mut amount, mut msg) = (None, None, None);
    object(input, &mut |r, k| match k {
        "sender_id" => once(&mut sender, r, k, Reader::parse),
        "amount" => once(&mut amount, r, k, Reader::parse),
        "msg" => once(&mut msg, r, k, |r| r.str().map(|s| s.into_owned())),
        _ => Ok(false),
    })?;
    Ok((required(sender, "sender_id")?, required(amount, "amount")?, required(msg, "msg")?))
}

/// `ft_on_transfer`'s `msg` when not empty: `{"receiver_id"}`, nothing else (`deny_unknown_fields`).
pub fn deposit_msg(msg: &[u8]) -> json::Result<AccountId> {
    let mut receiver = None;
    json::from_slice(msg, |r| {
        r.fields(true, &mut |r, k| if k == "receiver_id" { once(&mut receiver, r, k, Reader::parse) } else { Ok(false) })
    })?;
    required(receiver, "receiver_id")
}

/// `on_withdraw` (this contract's own callback): `{"account_id", "token", "amount", "receiver_id"}`.
pub struct OnWithdraw {
    pub account_id: AccountId,
    pub token: TokenId,
    pub amount: u128,
    pub receiver_id: AccountId,
}

pub fn on_withdraw(input: &[u8]) -> json::Result<OnWithdraw> {
    let (mut account_id, mut token, mut amount, mut receiver_id) = (None, None, None, None);
    object(input, &mut |r, k| match k {
        "account_id" => once(&mut account_id, r, k, Reader::parse),
        "token" => once(&mut token, r, k, Reader::parse),
        "amount" => once(&mut amount, r, k, Reader::parse),
        "receiver_id" => once(&mut receiver_id, r, k, Reader::parse),
        _ => Ok(false),
    })?;
    Ok(OnWithdraw {
        account_id: required(account_id, "account_id")?,
        token: required(token, "token")?,
        amount: required(amount, "amount")?,
        receiver_id: required(receiver_id, "receiver_id")?,
    })
}

/// The arguments `on_withdraw` is called with (what near-sdk's generated `ext` wrote).
pub fn on_withdraw_json(account_id: &AccountId, token: &TokenId, amount: u128, receiver_id: &AccountId) -> String {
    let mut out = String::new();
    json::ObjectWriter::new(&mut out)
        .display("account_id", account_id)
        .display("token", token)
        .display("amount", amount)
        .display("receiver_id", receiver_id)
        .end();
    out
}

/// NEP-141 `ft_transfer` arguments, as near-sdk's `ext_contract` wrote them (`memo` `null` when
/// absent).
pub fn ft_transfer_json(receiver_id: &AccountId, amount: u128, memo: Option<&str>) -> String {
    let mut out = String::new();
    let mut o = json::ObjectWriter::new(&mut out);
    o.display("receiver_id", receiver_id).display("amount", amount);
    match memo {
        Some(m) => o.str("memo", m),
        None => o.raw("memo", "null"),
    }
    .end();
    out
}

/// Keys as `public_keys_of` returns them: `["ed25519:...", ...]`.
pub fn keys_json(keys: &[PublicKey]) -> String {
    let mut out = String::new();
    json::push_array(&mut out, keys, |o, k| json::push_display(o, k));
    out
}
