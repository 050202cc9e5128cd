// near-sdk's `contract_metadata` reads the NEP330_* variables inside a proc macro, where cargo does
// not track them; declaring them here makes a new commit or build command rebuild the contract.
fn main() {
    for var in [
        "NEP330_BUILD_INFO_BUILD_ENVIRONMENT",
        "NEP330_BUILD_INFO_BUILD_COMMAND",
        "NEP330_BUILD_INFO_SOURCE_CODE_SNAPSHOT",
        "NEP330_BUILD_INFO_CONTRACT_PATH",
        "NEP330_BUILD_INFO_OUTPUT_WASM_PATH",
        "NEP330_LINK",
        "NEP330_VERSION",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
}
