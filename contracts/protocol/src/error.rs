//! Error codes. The string of each code is part of the ABI: contracts put it in panic messages,
//! the dApp maps it to words, relayers report it. Never rename one; add new ones.

use core::fmt;

macro_rules! codes {
    ($($variant:ident => $code:literal, $text:literal;)*) => {
        /// A stable, machine-readable reason an intent or batch was rejected.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode { $($variant),* }

        impl ErrorCode {
            /// Every code, for tests and for clients that build a lookup table.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The stable text form, e.g. `NONCE_USED`.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),* }
            }

            /// A short sentence a person understands (the dApp shows it next to the field).
            pub const fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => $text),* }
            }

            /// Parses the text form back (relayers read it out of panic messages).
            pub fn parse(code: &str) -> Option<ErrorCode> {
                match code { $($code => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    // Decoding and size.
    MessageTooLarge => "MESSAGE_TOO_LARGE", "the signed message is too large";
    MessageMalformed => "MESSAGE_MALFORMED", "the signed message is not a valid intent";
    CallbackUrlTooLong => "CALLBACK_URL_TOO_LONG", "the callback URL is too long";
    InvalidPublicKey => "INVALID_PUBLIC_KEY", "not an ed25519 public key (ed25519:<base58>)";
    InvalidSignatureEncoding => "INVALID_SIGNATURE_ENCODING", "not an ed25519 signature (ed25519:<base58>)";
    InvalidSecretKey => "INVALID_SECRET_KEY", "not an ed25519 secret key (ed25519:<base58>)";
    InvalidNonce => "INVALID_NONCE", "a nonce must be 32 bytes in base64";
    InvalidAccountId => "INVALID_ACCOUNT_ID", "not a valid NEAR account id";
    InvalidAmount => "INVALID_AMOUNT", "not a whole number of the token's smallest unit";
    InvalidToken => "INVALID_TOKEN", "a token is `near` or `nep141:<token contract>`";
    InvalidDeadline => "INVALID_DEADLINE", "a deadline is a timestamp in nanoseconds";
    // Verification, in DESIGN.md order.
    SignatureInvalid => "SIGNATURE_INVALID", "the signature does not match the message and key";
    WrongRecipient => "WRONG_RECIPIENT", "the intent was signed for another contract";
    DeadlineExpired => "DEADLINE_EXPIRED", "the intent's deadline has passed";
    DeadlineTooFar => "DEADLINE_TOO_FAR", "the deadline is further ahead than the contract allows";
    KeyNotAuthorized => "KEY_NOT_AUTHORIZED", "the key does not belong to the signer";
    NonceUsed => "NONCE_USED", "this intent (nonce) was already used or cancelled";
    // Action rules.
    NoActions => "NO_ACTIONS", "an intent needs at least one action";
    TooManyActions => "TOO_MANY_ACTIONS", "too many actions in one intent";
    ZeroAmount => "ZERO_AMOUNT", "the amount must be greater than zero";
    MemoTooLong => "MEMO_TOO_LONG", "the memo is too long";
    SelfTransfer => "SELF_TRANSFER", "a transfer to yourself does nothing";
    EmptyTokenDiff => "EMPTY_TOKEN_DIFF", "a swap offer must name tokens to give and to receive";
    TokenDiffOneSided => "TOKEN_DIFF_ONE_SIDED", "a swap offer must both give and receive";
    TooManyTokens => "TOO_MANY_TOKENS", "too many tokens in one swap offer";
    NoNonces => "NO_NONCES", "name at least one nonce to cancel";
    TooManyNonces => "TOO_MANY_NONCES", "too many nonces in one cancellation";
    // Batch rules.
    BatchEmpty => "BATCH_EMPTY", "the batch is empty";
    BatchTooLarge => "BATCH_TOO_LARGE", "too many intents in one batch";
    DiffNotBalanced => "DIFF_NOT_BALANCED", "the swap offers in the batch do not match";
    // Ledger (stateful) rules, enforced by the intents contract.
    InsufficientBalance => "INSUFFICIENT_BALANCE", "the balance is too low";
    BalanceOverflow => "BALANCE_OVERFLOW", "the balance would overflow";
    KeyAlreadyExists => "KEY_ALREADY_EXISTS", "the key is already registered";
    KeyNotFound => "KEY_NOT_FOUND", "the key is not registered";
    TooManyKeys => "TOO_MANY_KEYS", "the account has the most keys allowed";
    MalformedDepositMessage => "MALFORMED_DEPOSIT_MESSAGE", "ft_transfer_call msg must be empty or {\"receiver_id\": \"...\"}";
    NotOwner => "NOT_OWNER", "only the contract owner may do this";
    DepositRequired => "DEPOSIT_REQUIRED", "attach the deposit this call needs";
    EventsTooLarge => "EVENTS_TOO_LARGE", "the batch's events exceed NEAR's log limit; split the batch";
    ImplicitKeyFixed => "IMPLICIT_KEY_FIXED", "an implicit account's own key cannot be removed";
    InsufficientStorageDeposit => "INSUFFICIENT_STORAGE_DEPOSIT", "not enough NEAR in the ledger to pay for storage";
    Paused => "PAUSED", "the contract is paused";
    // v2: nonces carry their expiry, weak keys, bounded work per batch.
    WeakPublicKey => "WEAK_PUBLIC_KEY", "this key is of small order (weak): it may not sign or be registered";
    DeadlineAfterNonceExpiry => "DEADLINE_AFTER_NONCE_EXPIRY", "the deadline is after the nonce's expiry (its first 8 bytes)";
    NonceExpiryTooFar => "NONCE_EXPIRY_TOO_FAR", "the nonce's expiry is further ahead than the contract allows";
    TooManyWithdrawals => "TOO_MANY_WITHDRAWALS", "too many withdrawals in one intent or batch";
    BatchGasTooHigh => "BATCH_GAS_TOO_HIGH", "the batch needs more gas than one transaction may use; split it";
}

/// What a failed check means for an intent that could be tried again on a later chain state
/// (relayers re-check "not now" failures until the deadline; the dApp shows them as waiting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// No later state can cure it (a bad signature, a stateless rule, a passed deadline).
    Never,
    /// A later state may: a deposit lands, a key is registered, the contract is unpaused.
    Later,
    /// The nonce is spent: ask the chain whether by this very intent (then it executed) or by
    /// another one or a cancellation (then it never will).
    CheckNonce,
}

impl ErrorCode {
    /// Whether a later chain state can make an intent that failed with this code pass. The
    /// match is exhaustive on purpose: a new code must decide.
    pub const fn retry(self) -> Retry {
        use ErrorCode::*;
        match self {
            MessageTooLarge | MessageMalformed | CallbackUrlTooLong | InvalidPublicKey | InvalidSignatureEncoding
            | InvalidSecretKey | InvalidNonce | InvalidAccountId | InvalidAmount | InvalidToken | InvalidDeadline
            | SignatureInvalid | WrongRecipient | DeadlineExpired | NoActions | TooManyActions | ZeroAmount
            | MemoTooLong | SelfTransfer | EmptyTokenDiff | TokenDiffOneSided | TooManyTokens | NoNonces
            | TooManyNonces | ImplicitKeyFixed => Retry::Never,
            WeakPublicKey | DeadlineAfterNonceExpiry => Retry::Never,
            // A batch fails with these; an intent alone fails with them only when its own events,
            // withdrawals or gas exceed what one call allows, which no state changes.
            EventsTooLarge | TooManyWithdrawals | BatchGasTooHigh => Retry::Never,
            // Time brings a nonce's expiry within the horizon.
            NonceExpiryTooFar => Retry::Later,
            NonceUsed => Retry::CheckNonce,
            // Time cures a deadline that is still too far; the rest are ledger or batch states.
            DeadlineTooFar | KeyNotAuthorized | BatchEmpty | BatchTooLarge | DiffNotBalanced
            | InsufficientBalance | BalanceOverflow | KeyAlreadyExists | KeyNotFound | TooManyKeys
            | MalformedDepositMessage | NotOwner | DepositRequired
            | InsufficientStorageDeposit | Paused => Retry::Later,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected intent: a stable code plus the detail that helps a person fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntentError {
    pub code: ErrorCode,
    pub detail: String,
}

impl IntentError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        IntentError { code, detail: detail.into() }
    }

    /// Parses `CODE: detail` (the [`Display`](fmt::Display) form), e.g. out of a contract panic.
    pub fn parse(text: &str) -> Option<IntentError> {
        let (code, detail) = text.split_once(": ").unwrap_or((text, ""));
        ErrorCode::parse(code.trim()).map(|code| IntentError::new(code, detail))
    }
}

impl From<ErrorCode> for IntentError {
    fn from(code: ErrorCode) -> Self {
        IntentError::new(code, code.description())
    }
}

impl fmt::Display for IntentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for IntentError {}

/// Shorthand for rules: `Err(reject(Code, "detail"))`.
pub(crate) fn reject(code: ErrorCode, detail: impl Into<String>) -> IntentError {
    IntentError::new(code, detail)
}
