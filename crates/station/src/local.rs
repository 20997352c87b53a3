//! Development: a software token per order under one directory, behind the app's
//! `LocalKeyMaker` port, so the back office can produce a key without a workstation — the same
//! request, signed by the same token code, certified by the same CA as a station's.

use std::path::PathBuf;

use app::station::{LocalKey, LocalKeyMaker};
use async_trait::async_trait;
use domain::OrderId;
use domain::certificate::{KeyAlgorithm, Subject};

use crate::client::SubjectAttribute;
use crate::soft::SoftToken;
use crate::{Token, random_pin, request};

#[derive(Debug, Clone)]
pub struct SoftKeyMaker {
    dir: PathBuf,
}

impl SoftKeyMaker {
    /// Tokens under `dir`, one directory per order.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn token(&self, order: OrderId) -> Result<SoftToken, String> {
        SoftToken::open(&self.dir.join(format!("order-{}", order.0))).map_err(|e| e.to_string())
    }
}

#[async_trait]
impl LocalKeyMaker for SoftKeyMaker {
    async fn request(&self, order: OrderId, algorithm: KeyAlgorithm, subject: &Subject) -> Result<LocalKey, String> {
        let maker = self.clone();
        let subject = SubjectAttribute::of(subject);
        let made = tokio::task::spawn_blocking(move || {
            let mut token = maker.token(order)?;
            let (user_pin, so_pin) = (random_pin(8), random_pin(16));
            token
                .initialise(&format!("sealdesk order {}", order.0), "12345678", &user_pin)
                .map_err(|e| e.to_string())?;
            let public = token.generate(algorithm).map_err(|e| e.to_string())?;
            let request_der =
                request::build(&public, algorithm, &subject, |tbs| token.sign(tbs)).map_err(|e| e.to_string())?;
            let token_serial = token.serial().map_err(|e| e.to_string())?;
            Ok::<_, String>(LocalKey { request_der, token_serial, user_pin, so_pin })
        })
        .await
        .map_err(|e| e.to_string())??;
        Ok(made)
    }

    async fn store(
        &self,
        order: OrderId,
        certificate: &[u8],
        chain: &[Vec<u8>],
        seal: Option<&[u8]>,
    ) -> Result<(), String> {
        let maker = self.clone();
        let (certificate, chain, seal) = (certificate.to_vec(), chain.to_vec(), seal.map(<[u8]>::to_vec));
        tokio::task::spawn_blocking(move || {
            let mut token = maker.token(order)?;
            token.store_certificates(&certificate, &chain).map_err(|e| e.to_string())?;
            let (stored, key) = token.read_back().map_err(|e| e.to_string())?;
            if stored != certificate || request::certified_key(&stored).map_err(|e| e.to_string())? != key {
                return Err("the token does not hold the certified key".to_owned());
            }
            if let Some(seal) = seal {
                token.store_seal(&seal).map_err(|e| e.to_string())?;
                if token.read_seal().map_err(|e| e.to_string())?.as_ref() != Some(&seal) {
                    return Err("the token does not hold the seal as made".to_owned());
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())?
    }
}
