//! The crate's NEP-413 hashing, signing, key and signature text forms checked against vectors
//! made by near-api-js (scripts/vectors/generate.mjs), an implementation not written here.

use outpost_protocol::*;
use serde::Deserialize;
use std::str::FromStr;

#[derive(Deserialize)]
struct File {
    generator: String,
    nep413: Vec<Vector>,
    seed_phrases: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    secret_key: String,
    public_key: String,
    signer_id: String,
    message: String,
    nonce_base64: String,
    recipient: String,
    callback_url: Option<String>,
    signature: String,
    hash_hex: String,
}

fn load() -> File {
    serde_json::from_str(include_str!("vectors/near-api-js.json")).expect("vector file parses")
}

#[test]
fn vectors_come_from_near_api_js() {
    let file = load();
    assert!(file.generator.starts_with("near-api-js "), "{}", file.generator);
    assert_eq!(file.nep413.len(), 4);
    assert_eq!(file.seed_phrases.len(), 2);
}

#[test]
fn hash_matches_near_api_js() {
    for v in load().nep413 {
        let nonce = Nonce::from_str(&v.nonce_base64).unwrap();
        let hash = Payload::new(&v.message, &nonce, &v.recipient, v.callback_url.as_deref()).hash(&DalekCrypto);
        assert_eq!(hex::encode(hash.0), v.hash_hex, "{}", v.name);
    }
}

#[test]
fn keys_and_signatures_match_near_api_js() {
    for v in load().nep413 {
        let secret = SecretKey::from_str(&v.secret_key).unwrap();
        assert_eq!(secret.public_key().to_string(), v.public_key, "{}", v.name);
        assert_eq!(secret.to_string(), v.secret_key, "{}: secret key text round trip", v.name);
        // ed25519 is deterministic: our signature must equal near-api-js's byte for byte.
        let signed = secret.sign_message(
            v.message.clone(),
            Nonce::from_str(&v.nonce_base64).unwrap(),
            &v.recipient,
            v.callback_url.clone(),
        );
        assert_eq!(signed.signature.to_string(), v.signature, "{}", v.name);
    }
}

#[test]
fn near_api_js_signatures_verify_as_intents() {
    for v in load().nep413 {
        let signed = SignedIntent {
            message: v.message.clone(),
            nonce: v.nonce_base64.parse().unwrap(),
            recipient: v.recipient.clone(),
            callback_url: v.callback_url.clone(),
            public_key: v.public_key.parse().unwrap(),
            signature: v.signature.parse().unwrap(),
        };
        // Deadline 2030-01-01; "now" a day earlier keeps it inside the 30-day horizon.
        let now = 1_893_456_000_000_000_000 - 86_400_000_000_000;
        // The vectors' nonces are random (v1): the signature and hash hold, and the v2 nonce rule
        // (bytes 0..8 are the expiry) is what refuses them, after the signature check passed.
        let hash = Payload::of(&signed).hash(&DalekCrypto);
        assert_eq!(hex::encode(hash.0), v.hash_hex);
        assert!(DalekCrypto.ed25519_verify(&signed.signature.0, &hash.0, &signed.public_key.0), "{}", v.name);
        let intent = validate::decode_intent(&signed.message).unwrap();
        assert_eq!(intent.signer_id.as_str(), v.signer_id);
        // The first vector is signed by an implicit account with its own key.
        assert_eq!(PublicKey::of_implicit_account(&intent.signer_id) == Some(signed.public_key), v.name.contains("implicit"), "{}", v.name);
        let err = verify_signed_intent(&DalekCrypto, &signed, &v.recipient, now).unwrap_err();
        assert!(matches!(err.code, ErrorCode::DeadlineAfterNonceExpiry | ErrorCode::NonceExpiryTooFar), "{}: {err}", v.name);

        // One flipped bit anywhere in the payload breaks the signature.
        let mut tampered = signed.clone();
        tampered.nonce.0[0] ^= 1;
        let err = verify_signed_intent(&DalekCrypto, &tampered, &v.recipient, now).unwrap_err();
        assert_eq!(err.code, ErrorCode::SignatureInvalid);
    }
}

#[test]
fn seed_phrase_keys_parse() {
    // Derivation itself belongs to the dApp; here the derived keys must parse and agree.
    for v in load().seed_phrases {
        let secret = SecretKey::from_str(v["secret_key"].as_str().unwrap()).unwrap();
        assert_eq!(secret.public_key().to_string(), v["public_key"].as_str().unwrap());
    }
}
