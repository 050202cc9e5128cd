//! What a deploy will do and what it costs, decided from what is on chain before anything is sent:
//! the balance check happens here, so an account without enough NEAR learns the amount it needs
//! before any account is created.

use near_workspaces::AccountId;

/// yoctoNEAR per byte of storage staked: 10^19 (1 NEAR per 100 kB), unchanged since genesis.
pub const BYTE_COST: u128 = 10_000_000_000_000_000_000;
pub const NEAR: u128 = 1_000_000_000_000_000_000_000_000;
/// Prepaid gas for a run's transactions (about five, at most 300 TGas each, at 10^8 yocto/gas
/// plus headroom for a higher gas price); unburnt gas is refunded.
pub const GAS_ALLOWANCE: u128 = NEAR / 4;
/// NEP-145 storage deposit that registers the ledger with the token (the token's minimum is
/// 0.00125 NEAR; the excess is refunded).
pub const TOKEN_REGISTRATION: u128 = 12_500_000_000_000_000_000_000;
/// State a new contract account gets room for beyond its code: the ledger's first records.
const STATE_HEADROOM_BYTES: u128 = 20_000;

/// A contract account as found on chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    Missing,
    /// Exists without code.
    Empty { balance: u128, storage_usage: u64 },
    /// Exists with code (`code_hash` base58).
    Code { balance: u128, storage_usage: u64, code_hash: String },
}

/// What happens to one contract account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Create the account (funded with `initial` yocto), deploy and initialize.
    Create { initial: u128 },
    /// The account exists without code: deploy and initialize.
    Install,
    /// New code for an initialized contract; `top_up` yocto are sent first when the account's
    /// balance would not cover the larger code.
    Upgrade { top_up: u128 },
    /// The code on chain is this build's.
    UpToDate,
}

/// Initial balance for a new contract account: its code and some state, rounded up to whole
/// NEAR, plus 1 NEAR.
pub fn initial_balance(wasm_len: usize) -> u128 {
    let bytes = (wasm_len as u128 + STATE_HEADROOM_BYTES) * BYTE_COST;
    bytes.div_ceil(NEAR) * NEAR + NEAR
}

/// The step for one contract: `code_hash` is this build's.
pub fn step(found: &Found, wasm_len: usize, code_hash: &str) -> Step {
    match found {
        Found::Missing => Step::Create { initial: initial_balance(wasm_len) },
        Found::Empty { .. } => Step::Install,
        Found::Code { code_hash: on_chain, .. } if on_chain == code_hash => Step::UpToDate,
        Found::Code { balance, storage_usage, .. } => {
            // Upper bound: the old code is still counted in storage_usage.
            let needed = (*storage_usage as u128 + wasm_len as u128) * BYTE_COST;
            Step::Upgrade { top_up: needed.saturating_sub(*balance) }
        }
    }
}

/// Whole-run cost paid by the funding account, with the items that make it up.
pub fn cost(steps: &[(&AccountId, &Step)], registers_ledger: bool) -> (u128, Vec<String>) {
    let mut items = Vec::new();
    let mut total = GAS_ALLOWANCE;
    for (id, step) in steps {
        match step {
            Step::Create { initial } => {
                total += initial;
                items.push(format!("{} to create {id}", near(*initial)));
            }
            Step::Upgrade { top_up } if *top_up > 0 => {
                total += top_up;
                items.push(format!("{} more for {id}'s larger code", near(*top_up)));
            }
            _ => {}
        }
    }
    if registers_ledger {
        total += TOKEN_REGISTRATION;
        items.push(format!("{} to register the ledger with the token", near(TOKEN_REGISTRATION)));
    }
    items.push(format!("{} for gas", near(GAS_ALLOWANCE)));
    (total, items)
}

/// What the funding account can spend: its balance minus the storage it must keep staked.
pub fn available(balance: u128, storage_usage: u64) -> u128 {
    balance.saturating_sub(storage_usage as u128 * BYTE_COST)
}

/// The balance check: `Err` names the account, what it has, what it needs and why.
pub fn check_balance(funder: &AccountId, available: u128, needed: u128, items: &[String]) -> Result<(), String> {
    if available >= needed {
        return Ok(());
    }
    Err(format!(
        "{funder} has {} available but this deploy needs {} ({}); send it at least {} more and run again. Nothing was created.",
        near(available),
        near(needed),
        items.join(", "),
        near(needed - available)
    ))
}

/// yoctoNEAR as NEAR with up to 5 decimals, rounded up (an amount someone must send).
pub fn near(yocto: u128) -> String {
    let unit = NEAR / 100_000;
    let tenths = yocto.div_ceil(unit);
    let (whole, frac) = (tenths / 100_000, tenths % 100_000);
    if frac == 0 {
        format!("{whole} NEAR")
    } else {
        format!("{whole}.{} NEAR", format!("{frac:05}").trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> AccountId {
        s.parse().unwrap()
    }

    #[test]
    fn amounts_read_as_near() {
        assert_eq!(near(0), "0 NEAR");
        assert_eq!(near(4 * NEAR), "4 NEAR");
        assert_eq!(near(NEAR / 4), "0.25 NEAR");
        assert_eq!(near(TOKEN_REGISTRATION), "0.0125 NEAR");
        // Rounded up: never tells someone to send less than needed.
        assert_eq!(near(1), "0.00001 NEAR");
        assert_eq!(near(NEAR + 1), "1.00001 NEAR");
    }

    #[test]
    fn new_accounts_get_their_code_and_state_plus_one_near() {
        // 272,701 B of code + 20 kB of state = 2.93 NEAR staked -> 3, + 1.
        assert_eq!(initial_balance(272_701), 4 * NEAR);
        assert_eq!(initial_balance(164_716), 3 * NEAR);
        assert_eq!(initial_balance(80_000), 2 * NEAR);
    }

    #[test]
    fn steps_follow_what_is_on_chain() {
        assert_eq!(step(&Found::Missing, 272_701, "H"), Step::Create { initial: 4 * NEAR });
        assert_eq!(step(&Found::Empty { balance: NEAR, storage_usage: 182 }, 272_701, "H"), Step::Install);
        let deployed = |balance, hash: &str| Found::Code { balance, storage_usage: 300_000, code_hash: hash.into() };
        assert_eq!(step(&deployed(4 * NEAR, "H"), 272_701, "H"), Step::UpToDate);
        assert_eq!(step(&deployed(6 * NEAR, "OLD"), 272_701, "H"), Step::Upgrade { top_up: 0 });
        // 300,000 + 272,701 bytes need 5.72701 NEAR; the account has 4.
        assert_eq!(step(&deployed(4 * NEAR, "OLD"), 272_701, "H"), Step::Upgrade { top_up: 572_701 * BYTE_COST - 4 * NEAR });
    }

    #[test]
    fn balance_check_names_the_amount_before_anything_is_created() {
        let (intents, token) = (id("intents.alice.testnet"), id("token.alice.testnet"));
        let (create_i, create_t) = (Step::Create { initial: 4 * NEAR }, Step::Create { initial: 3 * NEAR });
        let (needed, items) = cost(&[(&intents, &create_i), (&token, &create_t)], true);
        assert_eq!(needed, 7 * NEAR + TOKEN_REGISTRATION + GAS_ALLOWANCE);
        let funder = id("alice.testnet");
        // 2 NEAR on an account that stakes 182 bytes.
        let have = available(2 * NEAR, 182);
        assert_eq!(have, 2 * NEAR - 182 * BYTE_COST);
        let err = check_balance(&funder, have, needed, &items).unwrap_err();
        assert!(err.starts_with("alice.testnet has 1.99818 NEAR available but this deploy needs 7.2625 NEAR (4 NEAR to create intents.alice.testnet, 3 NEAR to create token.alice.testnet, 0.0125 NEAR to register the ledger with the token, 0.25 NEAR for gas); send it at least 5.26432 NEAR more"), "{err}");
        assert!(err.ends_with("Nothing was created."));
        assert!(check_balance(&funder, needed, needed, &items).is_ok());
        // A re-run that only upgrades needs gas (and a top-up when the code grew).
        let (needed, items) = cost(&[(&intents, &Step::Upgrade { top_up: NEAR }), (&token, &Step::UpToDate)], false);
        assert_eq!(needed, NEAR + GAS_ALLOWANCE);
        assert_eq!(items, ["1 NEAR more for intents.alice.testnet's larger code", "0.25 NEAR for gas"]);
    }
}
