//! A namespace: a WABA with its own numbers and token, created by the control API so that
//! tests sharing one emulator cannot see each other's objects.

use crate::domain::{PhoneNumber, Policy, Token, Waba};
use crate::fixtures::{
    FixtureDocument, TokenFixture, WabaFixture, number_fixture, token_fixture, waba_fixture,
};

/// A namespace as created: what a reset of the namespace returns to.
#[derive(Debug, Clone)]
pub struct Namespace {
    /// The WABA (its id is the namespace's id).
    pub waba: Waba,
    /// Its numbers as created.
    pub numbers: Vec<PhoneNumber>,
    /// Its token.
    pub token: Token,
}

impl Namespace {
    /// Its fixture form (how the store keeps it).
    pub fn to_fixtures(&self) -> (WabaFixture, TokenFixture) {
        (
            WabaFixture {
                phone_numbers: self.numbers.iter().map(number_fixture).collect(),
                ..waba_fixture(&self.waba)
            },
            token_fixture(self.token.clone()),
        )
    }

    /// The namespace a fixture WABA and token describe; `None` if the WABA or the token is
    /// missing from what they make (they were validated when first written).
    pub fn from_fixtures(
        waba: &WabaFixture,
        token: &TokenFixture,
        policy: &Policy,
    ) -> Option<Self> {
        let document = FixtureDocument {
            tokens: vec![token.clone()],
            wabas: vec![waba.clone()],
            ..FixtureDocument::default()
        };
        let (waba, numbers) = document.wabas(policy).pop()?;
        let token = document.tokens().next()?;
        Some(Self {
            waba,
            numbers,
            token,
        })
    }
}
