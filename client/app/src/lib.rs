//! Browser-only; see src/app.rs
