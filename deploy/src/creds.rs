//! Key files in near-cli's layout, as near-cli-rs ("legacy keychain") and near-cli JS write them:
//! `<credentials-dir>/<network>/<account>.json` holding `account_id`, `public_key` and
//! `private_key` (near-workspaces writes `secret_key`; both are read). near-cli-rs puts further
//! keys of an account in `<account>/<public key>.json`; those are read when the first is missing.

use near_workspaces::types::{PublicKey, SecretKey};
use near_workspaces::AccountId;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct KeyFile {
    pub path: PathBuf,
    pub public_key: PublicKey,
    pub secret_key: SecretKey,
}

/// The main key file's path for `account` in `dir` (`<credentials-dir>/<network>`).
pub fn path_of(dir: &Path, account: &AccountId) -> PathBuf {
    dir.join(format!("{account}.json"))
}

/// Every key file of `account` in `dir`: the main file, or else the files of near-cli-rs's
/// per-account folder. An account with none is an error that names the file to create.
pub fn find(dir: &Path, account: &AccountId) -> Result<Vec<KeyFile>, String> {
    let main = path_of(dir, account);
    if main.exists() {
        return Ok(vec![read(&main, account)?]);
    }
    let folder = dir.join(account.as_str());
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&folder) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "json")).collect(),
        Err(_) => vec![],
    };
    if files.is_empty() {
        return Err(format!(
            "no key for {account}: {} does not exist. Put the account's full-access key there (near-cli-rs: \
             `near account import-account using-private-key <key> network-config <network>` writes it), \
             or point --credentials-dir at the folder that holds `<network>/{account}.json`",
            main.display()
        ));
    }
    files.sort();
    files.iter().map(|p| read(p, account)).collect()
}

/// Reads and checks one key file: JSON with the right account, a secret key that parses and a
/// public key that belongs to it.
pub fn read(path: &Path, account: &AccountId) -> Result<KeyFile, String> {
    let bad = |what: String| format!("{}: {what}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("not a near-cli key file (invalid JSON: {e})")))?;
    let field = |names: &[&str]| names.iter().find_map(|n| json.get(*n).and_then(|v| v.as_str()).map(str::to_owned));
    let secret = field(&["private_key", "secret_key"]).ok_or_else(|| bad("no `private_key` field".into()))?;
    let secret_key: SecretKey = secret.parse().map_err(|e| bad(format!("`private_key` is not a NEAR secret key ({e:?})")))?;
    if let Some(id) = field(&["account_id"]) {
        if id != account.as_str() {
            return Err(bad(format!("holds a key of `{id}`, not of {account}")));
        }
    }
    let derived = secret_key.public_key();
    if let Some(pk) = field(&["public_key"]) {
        let public_key: PublicKey = pk.parse().map_err(|e| bad(format!("`public_key` is not a NEAR public key ({e:?})")))?;
        if public_key != derived {
            return Err(bad(format!("`public_key` {public_key} does not belong to its `private_key` (that is {derived})")));
        }
    }
    Ok(KeyFile { path: path.to_owned(), public_key: derived, secret_key })
}

/// Writes a key file in near-cli's format (mode 0600 on unix: it is a full-access key).
pub fn write(dir: &Path, account: &AccountId, secret_key: &SecretKey) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = path_of(dir, account);
    let json = serde_json::json!({
        "account_id": account,
        "public_key": secret_key.public_key().to_string(),
        "private_key": secret_key.to_string(),
    });
    let tmp = dir.join(format!(".{account}.json.tmp"));
    std::fs::write(&tmp, serde_json::to_string_pretty(&json).expect("JSON") + "\n").map_err(|e| format!("{}: {e}", tmp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(|e| format!("{}: {e}", tmp.display()))?;
    }
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use near_workspaces::types::KeyType;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("outpost-creds-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn alice() -> AccountId {
        "alice.testnet".parse().unwrap()
    }

    #[test]
    fn reads_what_near_cli_writes() {
        let d = dir("cli");
        let sk = SecretKey::from_seed(KeyType::ED25519, "alice");
        // near-cli-rs's legacy keychain file, with its extra fields.
        let file = serde_json::json!({"account_id": "alice.testnet", "public_key": sk.public_key().to_string(), "private_key": sk.to_string(), "seed_phrase_hd_path": "m/44'/397'/0'"});
        std::fs::write(d.join("alice.testnet.json"), file.to_string()).unwrap();
        let keys = find(&d, &alice()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].public_key, sk.public_key());
        assert_eq!(keys[0].secret_key.to_string(), sk.to_string());
        // Round trip through our own writer (and near-workspaces' `secret_key` spelling).
        let d2 = dir("write");
        let path = write(&d2, &alice(), &sk).unwrap();
        assert_eq!(read(&path, &alice()).unwrap().public_key, sk.public_key());
        let ws = serde_json::json!({"account_id": "alice.testnet", "public_key": sk.public_key().to_string(), "secret_key": sk.to_string()});
        std::fs::write(&path, ws.to_string()).unwrap();
        assert_eq!(read(&path, &alice()).unwrap().public_key, sk.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let d3 = dir("mode");
            let p = write(&d3, &alice(), &sk).unwrap();
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn reads_the_per_account_folder_when_the_main_file_is_missing() {
        let d = dir("folder");
        let (a, b) = (SecretKey::from_seed(KeyType::ED25519, "a"), SecretKey::from_seed(KeyType::ED25519, "b"));
        std::fs::create_dir_all(d.join("alice.testnet")).unwrap();
        for sk in [&a, &b] {
            let pk = sk.public_key().to_string();
            let file = serde_json::json!({"account_id": "alice.testnet", "public_key": pk, "private_key": sk.to_string()});
            std::fs::write(d.join("alice.testnet").join(format!("{}.json", pk.replace(':', "_"))), file.to_string()).unwrap();
        }
        let keys: Vec<PublicKey> = find(&d, &alice()).unwrap().into_iter().map(|k| k.public_key).collect();
        assert_eq!(keys.len(), 2);
        assert!(keys.contains(&a.public_key()) && keys.contains(&b.public_key()));
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let d = dir("errors");
        let err = find(&d, &alice()).unwrap_err();
        let expected = d.join("alice.testnet.json");
        assert!(err.starts_with(&format!("no key for alice.testnet: {} does not exist", expected.display())), "{err}");
        assert!(err.contains("--credentials-dir"), "{err}");

        let sk = SecretKey::from_seed(KeyType::ED25519, "alice");
        let other = SecretKey::from_seed(KeyType::ED25519, "other");
        let path = d.join("alice.testnet.json");
        for (contents, want) in [
            ("{not json".to_owned(), "not a near-cli key file"),
            (serde_json::json!({"account_id": "alice.testnet"}).to_string(), "no `private_key` field"),
            (serde_json::json!({"private_key": "ed25519:xyz"}).to_string(), "`private_key` is not a NEAR secret key"),
            (serde_json::json!({"account_id": "bob.testnet", "private_key": sk.to_string()}).to_string(), "holds a key of `bob.testnet`, not of alice.testnet"),
            (serde_json::json!({"public_key": other.public_key().to_string(), "private_key": sk.to_string()}).to_string(), "does not belong to its `private_key`"),
        ] {
            std::fs::write(&path, contents).unwrap();
            let err = find(&d, &alice()).unwrap_err();
            assert!(err.starts_with(&format!("{}: ", path.display())), "{err}");
            assert!(err.contains(want), "{want}: {err}");
        }
    }
}
