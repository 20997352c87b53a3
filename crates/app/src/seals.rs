//! 电子印章: the seal an order's approved application makes — a company's round seal with its
//! name, a person's square name seal — drawn for the applicant and the reviewer to see, and,
//! once the holder's certificate is issued, made as a GB/T 38540 seal signed by the desk as seal
//! maker, for the applicant to download and the workstation to write to the USB-Key. Anyone
//! may have a seal file checked.

use std::sync::Arc;

use domain::OrderId;
use domain::application::SubjectKind;
use domain::certificate::{self, KeyAlgorithm};
use domain::document::DocumentKind;
use domain::seal::{SealDrawing, SealKind, SealSize, SealSource};
use domain::staff::Role;

use crate::ports::{CertificateRecord, OrderRecord, SealRecord};
use crate::seal_maker::{NewSeal, ScannedPicture, SealFault, SealMaker, SealReport, Trust};
use crate::sessions::CurrentUser;
use crate::staff::CurrentStaff;
use crate::{App, Error};

/// A name seal's side, in millimetres.
pub const PERSON_SEAL_MM: f64 = 20.0;

fn maker_fault(err: SealFault) -> Error {
    match err {
        SealFault::Unreadable(why) => Error::field("file", "seal_unreadable", &format!("无法读取该电子印章：{why}")),
        SealFault::Unavailable(why) => {
            tracing::error!(error = %why, "the seal maker failed");
            Error::Unavailable {
                code: "seal_maker_unavailable", message: "电子印章服务暂不可用，请稍后再试".into()
            }
        }
    }
}

impl App {
    /// The same app, making seals with `maker`.
    #[must_use]
    pub fn with_seal_maker(mut self, maker: Arc<dyn SealMaker>) -> Self {
        self.seal_maker = Some(maker);
        self
    }

    fn maker(&self) -> Result<&Arc<dyn SealMaker>, Error> {
        self.seal_maker
            .as_ref()
            .ok_or(Error::Unavailable { code: "seal_maker_unavailable", message: "未配置电子印章服务".into() })
    }

    /// The diameter of a company's round seal, as the operator set it.
    pub fn company_seal_size(&self) -> SealSize {
        self.policy.seal_size
    }

    /// The seal image (SVG) of the user's own order.
    pub async fn order_seal(&self, user: &CurrentUser, id: OrderId) -> Result<String, Error> {
        let view = self.order(user, id).await?;
        Ok(self.drawing_of(&view.record).await?.1.svg())
    }

    /// The seal picture (PNG, 300 dpi) of the user's own order: drawn, or lifted off their
    /// 印章采样表 when the reviewer chose it.
    pub async fn order_seal_png(&self, user: &CurrentUser, id: OrderId) -> Result<Vec<u8>, Error> {
        let view = self.order(user, id).await?;
        let (_, drawing, _) = self.drawing_of(&view.record).await?;
        Ok(self.chosen_picture(&view.record, drawing).await?.0)
    }

    /// Where the order's seal picture comes from.
    pub async fn seal_source(&self, id: OrderId) -> Result<SealSource, Error> {
        Ok(self.store.seal_source(id).await?.unwrap_or(SealSource::Generated))
    }

    /// The stamp lifted off the order's 印章采样表, for the reviewer to compare with the drawn
    /// seal; `NotFound` when none was uploaded.
    pub async fn staff_seal_scan(&self, staff: &CurrentStaff, id: OrderId) -> Result<Vec<u8>, Error> {
        staff.require(&[Role::Reviewer, Role::Fulfilment])?;
        let order = self.store.order_by_id(id).await?.ok_or(Error::NotFound)?;
        let (_, drawing, _) = self.drawing_of(&order).await?;
        Ok(self.scanned_picture(&order, &drawing).await?.ok_or(Error::NotFound)?.png)
    }

    /// The reviewer chooses the drawn seal or the stamp on the 印章采样表 (which must have been
    /// uploaded and show a stamp). Seals made afterwards use it; one already made stays as made.
    pub async fn choose_seal_source(&self, staff: &CurrentStaff, id: OrderId, source: SealSource) -> Result<(), Error> {
        staff.require(&[Role::Reviewer])?;
        let order = self.store.order_by_id(id).await?.ok_or(Error::NotFound)?;
        if source == SealSource::Scanned {
            let (_, drawing, _) = self.drawing_of(&order).await?;
            if self.scanned_picture(&order, &drawing).await?.is_none() {
                return Err(Error::Conflict {
                    code: "seal_specimen_missing",
                    message: "申请人未上传印章采样表".into(),
                });
            }
        }
        let now = self.clock.now();
        self.store.choose_seal_source(id, source, staff.id, now).await?;
        self.audit(Some(staff.id), "seal.source", Some(id), source.label()).await?;
        Ok(())
    }

    /// The stamp off the application's 印章采样表, as long on its longer side as `drawing`;
    /// `None` when none was uploaded. A sheet without a recognisable stamp is a field error.
    async fn scanned_picture(
        &self,
        order: &OrderRecord,
        drawing: &SealDrawing,
    ) -> Result<Option<ScannedPicture>, Error> {
        let longer_mm = drawing.width.max(drawing.height);
        let Some(document) =
            self.store.document(order.order.user_id, order.order.application_id, DocumentKind::SealSpecimen).await?
        else {
            return Ok(None);
        };
        let scan = self.read_sealed(&document.file_key, &document.wrapped_key).await?;
        let maker = Arc::clone(self.maker()?);
        // Decoded under the same memory budget as uploads (the stored sheet is at most 4096 px a
        // side, so it always fits).
        let cost = crate::media::decode_cost(&scan, self.decodes.total())
            .map_err(|_| Error::field("seal_specimen", "seal_specimen_unreadable", "印章采样表图片无法读取"))?;
        let reserved = self
            .decodes
            .reserve(cost)
            .await
            .map_err(|_| Error::Unavailable { code: "busy", message: "系统繁忙，请稍后再试".into() })?;
        let picture = tokio::task::spawn_blocking(move || {
            let picture = maker.picture_from_scan(&scan, longer_mm);
            drop(reserved);
            picture
        })
        .await
        .map_err(|e| Error::Internal(crate::StoreError::Other(e.to_string())))?;
        match picture {
            Ok(picture) => Ok(Some(picture)),
            Err(SealFault::Unreadable(why)) => Err(Error::field("seal_specimen", "seal_specimen_unreadable", &why)),
            Err(err) => Err(maker_fault(err)),
        }
    }

    /// The picture the order's seal gets (`drawing`, or the stamp on the 印章采样表 when the
    /// reviewer chose it), as PNG, with its size in whole millimetres.
    async fn chosen_picture(&self, order: &OrderRecord, drawing: SealDrawing) -> Result<(Vec<u8>, u32, u32), Error> {
        if self.seal_source(order.id).await? == SealSource::Scanned
            && let Some(scan) = self.scanned_picture(order, &drawing).await?
        {
            return Ok((scan.png, millimetres(scan.width_mm), millimetres(scan.height_mm)));
        }
        let (width, height) = (drawing.width, drawing.height);
        Ok((self.picture(drawing).await?, millimetres(width), millimetres(height)))
    }

    /// The seal image (SVG) of an order, for the staff reviewing or producing it.
    pub async fn staff_order_seal(&self, staff: &CurrentStaff, id: OrderId) -> Result<String, Error> {
        staff.require(&[Role::Reviewer, Role::Fulfilment])?;
        let order = self.store.order_by_id(id).await?.ok_or(Error::NotFound)?;
        Ok(self.drawing_of(&order).await?.1.svg())
    }

    /// The seal's kind, layout and name, from the order's application.
    async fn drawing_of(&self, order: &OrderRecord) -> Result<(SealKind, SealDrawing, String), Error> {
        let application =
            self.store.application(order.order.user_id, order.order.application_id).await?.ok_or(Error::NotFound)?;
        let (kind, name) = match application.subject_kind {
            SubjectKind::Enterprise => (SealKind::Company, application.company_name.unwrap_or_default()),
            SubjectKind::Personal => (SealKind::Person, application.holder_name.unwrap_or_default()),
        };
        let drawing = match kind {
            SealKind::Company => SealDrawing::company(&name, None, self.policy.seal_size),
            SealKind::Person => SealDrawing::person(&name, PERSON_SEAL_MM),
        }
        .map_err(|e| Error::Conflict { code: "seal_text_invalid", message: format!("无法生成印章：{e}") })?;
        Ok((kind, drawing, name))
    }

    /// Draws the picture off the request threads (a few dozen milliseconds of CPU).
    async fn picture(&self, drawing: SealDrawing) -> Result<Vec<u8>, Error> {
        let maker = Arc::clone(self.maker()?);
        tokio::task::spawn_blocking(move || maker.picture(&drawing))
            .await
            .map_err(|e| Error::Internal(crate::StoreError::Other(e.to_string())))?
            .map_err(maker_fault)
    }

    /// The seal of `certificate`, made (and kept) the first time it is asked for: the name and
    /// kind from the order's application, the holder's certificate in its list, valid as long
    /// as the certificate, signed by the desk's seal-maker certificate.
    pub(crate) async fn seal_for(&self, certificate: &CertificateRecord) -> Result<SealRecord, Error> {
        if let Some(seal) = self.store.seal_of_certificate(&certificate.serial).await? {
            return Ok(seal);
        }
        if certificate.revocation.is_some() {
            return Err(Error::Conflict {
                code: "certificate_revoked",
                message: "该证书已吊销，不再为其制作电子印章".into(),
            });
        }
        let order = self.store.order_by_id(certificate.order_id).await?.ok_or(Error::NotFound)?;
        let (kind, drawing, name) = self.drawing_of(&order).await?;
        let (picture_png, width_mm, height_mm) = self.chosen_picture(&order, drawing).await?;
        let now = self.clock.now();
        let es_id = format!(
            "SD{:04}{:02}{:02}{}",
            now.year(),
            u8::from(now.month()),
            now.day(),
            crate::crypto::random_token().chars().filter(char::is_ascii_alphanumeric).take(10).collect::<String>()
        )
        .to_ascii_uppercase();
        let seal = NewSeal {
            es_id: es_id.clone(),
            kind,
            name,
            holder_certificates: vec![certificate.der.clone()],
            created: now,
            valid_from: certificate.not_before,
            valid_to: certificate.not_after,
            picture_png,
            width_mm,
            height_mm,
        };
        let der = self.maker()?.make(&seal).map_err(maker_fault)?;
        let record = SealRecord { serial: certificate.serial.clone(), es_id, der, created_at: now };
        Ok(self.store.record_seal(&record).await?)
    }

    /// The seal (the `.esl` file) of the user's own certificate.
    pub async fn my_seal(&self, user: &CurrentUser, serial: &str) -> Result<SealRecord, Error> {
        let serial = certificate::normalize_serial(serial).ok_or(Error::NotFound)?;
        let record = self.store.certificate(&serial).await?.filter(|c| c.user_id == user.id).ok_or(Error::NotFound)?;
        self.seal_for(&record).await
    }

    /// The picture (PNG) of the user's own certificate's seal, as the seal file carries it.
    pub async fn my_seal_picture(&self, user: &CurrentUser, serial: &str) -> Result<Vec<u8>, Error> {
        let seal = self.my_seal(user, serial).await?;
        let report = self.maker()?.inspect(&seal.der, &Trust::default(), self.clock.now()).map_err(maker_fault)?;
        Ok(report.picture)
    }

    /// What a relying party trusts: our roots, issuing CAs and their current CRLs.
    pub async fn seal_trust(&self) -> Result<Trust, Error> {
        let ca = self
            .ca
            .as_ref()
            .ok_or(Error::Unavailable { code: "ca_unavailable", message: "未配置证书服务".into() })?;
        let now = self.clock.now();
        let mut trust = Trust::default();
        for algorithm in KeyAlgorithm::ALL {
            let chain = ca.chain(algorithm).await.map_err(crate::certificates::ca_error)?;
            if let Some((root, intermediates)) = chain.split_last() {
                trust.roots.push(root.clone());
                trust.intermediates.extend(intermediates.iter().cloned());
            }
            // An external CA publishes its own lists: without one, the holder's status is
            // reported as unknown (a failed check), never assumed.
            match ca.crl(algorithm, now).await {
                Ok(crl) => trust.crls.push(crl),
                Err(err) => {
                    tracing::warn!(algorithm = algorithm.as_str(), error = %err, "no CRL to check seals against");
                }
            }
        }
        Ok(trust)
    }

    /// 印章验证: checks a seal file anyone uploads, against our CA and its current revocation
    /// lists.
    pub async fn verify_seal(&self, file: &[u8]) -> Result<SealReport, Error> {
        let trust = self.seal_trust().await?;
        let maker = Arc::clone(self.maker()?);
        let now = self.clock.now();
        let file = file.to_vec();
        tokio::task::spawn_blocking(move || maker.inspect(&file, &trust, now))
            .await
            .map_err(|e| Error::Internal(crate::StoreError::Other(e.to_string())))?
            .map_err(maker_fault)
    }
}

/// A drawing's side in whole millimetres, as the seal structure carries it.
fn millimetres(mm: f64) -> u32 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 18–42 mm
    let whole = mm.round().clamp(1.0, 1000.0) as u32;
    whole
}
