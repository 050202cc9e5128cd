//! Direct submission: a NEAR transaction calling `execute_intents`, built and signed here so a user
//! with an account and gas needs no relayer. Borsh by hand (a few fields) instead of pulling
//! near-primitives into the browser; a native test checks the bytes against near-primitives.

use outpost_protocol::abi::methods::EXECUTE_INTENTS;
use outpost_protocol::{AccountId, SecretKey, SignedIntent};
use sha2::{Digest, Sha256};

/// A `FunctionCall` action (borsh variant 2 of nearcore's `Action`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionCall {
    pub method_name: String,
    pub args: Vec<u8>,
    pub gas: u64,
    /// yoctoNEAR attached.
    pub deposit: u128,
}

/// `Transaction::V0` with function calls only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    pub signer_id: AccountId,
    pub public_key: outpost_protocol::PublicKey,
    /// The access key's nonce + 1.
    pub nonce: u64,
    pub receiver_id: AccountId,
    /// A recent block hash (the transaction expires about a day after that block).
    pub block_hash: [u8; 32],
    pub actions: Vec<FunctionCall>,
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// ED25519 tag of nearcore's `PublicKey` and `Signature` enums.
const ED25519: u8 = 0;
const FUNCTION_CALL: u8 = 2;

impl Transaction {
    /// borsh(TransactionV0), which is what nearcore hashes and signs.
    pub fn to_borsh(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        put_str(&mut out, self.signer_id.as_str());
        out.push(ED25519);
        out.extend_from_slice(&self.public_key.0);
        out.extend_from_slice(&self.nonce.to_le_bytes());
        put_str(&mut out, self.receiver_id.as_str());
        out.extend_from_slice(&self.block_hash);
        out.extend_from_slice(&(self.actions.len() as u32).to_le_bytes());
        for a in &self.actions {
            out.push(FUNCTION_CALL);
            put_str(&mut out, &a.method_name);
            out.extend_from_slice(&(a.args.len() as u32).to_le_bytes());
            out.extend_from_slice(&a.args);
            out.extend_from_slice(&a.gas.to_le_bytes());
            out.extend_from_slice(&a.deposit.to_le_bytes());
        }
        out
    }

    /// The transaction hash (sha256 of the borsh bytes), base58 in explorers.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.to_borsh()).into()
    }

    /// borsh(SignedTransaction): the transaction then an ed25519 signature over its hash.
    pub fn sign(&self, key: &SecretKey) -> SignedTransaction {
        let hash = self.hash();
        let mut bytes = self.to_borsh();
        bytes.push(ED25519);
        bytes.extend_from_slice(&key.sign(&hash).0);
        SignedTransaction { bytes, hash }
    }
}

/// A signed transaction ready for RPC `send_tx` (base64 of `bytes`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTransaction {
    pub bytes: Vec<u8>,
    pub hash: [u8; 32],
}

impl SignedTransaction {
    pub fn hash_base58(&self) -> String {
        outpost_protocol::base58::encode(&self.hash)
    }
    pub fn to_base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&self.bytes)
    }
}

/// Gas for one `execute_intents` call: 300 TGas, the per-transaction maximum; unused gas is refunded.
pub const EXECUTE_GAS: u64 = 300_000_000_000_000;

/// The `execute_intents` call for `signed`, attaching `deposit` (v2: optional; it is credited to
/// the caller's ledger NEAR, which pays the storage the batch adds: see `simulate_intents`'
/// `caller_charge`; a function-call key attaches 0).
pub fn execute_intents_call(signed: &[SignedIntent], deposit: u128) -> FunctionCall {
    // Serialising protocol types to JSON cannot fail.
    let args = serde_json::to_vec(&serde_json::json!({ "signed": signed })).expect("json");
    FunctionCall { method_name: EXECUTE_INTENTS.to_owned(), args, gas: EXECUTE_GAS, deposit }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::signed_transfer;
        use near_primitives::action::{Action, FunctionCallAction};
    use near_primitives::hash::CryptoHash;
    use near_primitives::transaction::{SignedTransaction as NearSigned, Transaction as NearTx, TransactionV0};

    #[test]
    fn bytes_match_near_primitives() {
        let seed = [7u8; 32];
        let key = SecretKey::from_seed(seed);
        let near_sk: near_crypto::SecretKey = key.to_string().parse().unwrap();
        assert_eq!(near_sk.public_key().to_string(), key.public_key().to_string());

        for (intents, deposit, nonce) in [(vec![signed_transfer(1)], 0u128, 1u64), (vec![signed_transfer(2), signed_transfer(3)], 12_345_678_901_234_567_890u128, u64::MAX - 1)] {
            let call = execute_intents_call(&intents, deposit);
            let ours = Transaction {
                signer_id: "relayer.testnet".parse().unwrap(),
                public_key: key.public_key(),
                nonce,
                receiver_id: "intents.outpost.testnet".parse().unwrap(),
                block_hash: [9u8; 32],
                actions: vec![call.clone()],
            };
            let theirs = NearTx::V0(TransactionV0 {
                signer_id: "relayer.testnet".parse().unwrap(),
                public_key: near_sk.public_key(),
                nonce,
                receiver_id: "intents.outpost.testnet".parse().unwrap(),
                block_hash: CryptoHash([9u8; 32]),
                actions: vec![Action::FunctionCall(Box::new(FunctionCallAction {
                    method_name: call.method_name.clone(),
                    args: call.args.clone(),
                    gas: near_primitives::gas::Gas::from_gas(call.gas),
                    deposit: near_primitives::types::Balance::from_yoctonear(call.deposit),
                }))],
            });
            assert_eq!(ours.to_borsh(), borsh::to_vec(&theirs).unwrap());
            let (their_hash, _) = theirs.get_hash_and_size();
            assert_eq!(ours.hash(), their_hash.0);
            let sig = near_sk.sign(their_hash.as_ref());
            let their_signed = NearSigned::new(sig, theirs);
            let our_signed = ours.sign(&key);
            assert_eq!(our_signed.bytes, borsh::to_vec(&their_signed).unwrap());
            assert_eq!(our_signed.hash_base58(), their_signed.get_hash().to_string());
        }
    }

    #[test]
    fn execute_call_carries_the_signed_intents_verbatim() {
        let s = signed_transfer(4);
        let call = execute_intents_call(std::slice::from_ref(&s), 0);
        let v: serde_json::Value = serde_json::from_slice(&call.args).unwrap();
        let back: Vec<SignedIntent> = serde_json::from_value(v["signed"].clone()).unwrap();
        assert_eq!(back, vec![s]);
        assert_eq!(call.method_name, "execute_intents");
    }
}
