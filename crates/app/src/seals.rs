//! 电子印章: the seal image an order's approved application makes — a company's round seal with
//! its name, a person's square name seal — for the applicant to see on the order and the
//! reviewer before approving.

use domain::OrderId;
use domain::application::SubjectKind;
use domain::seal::{SealDrawing, SealSize};
use domain::staff::Role;

use crate::ports::OrderRecord;
use crate::sessions::CurrentUser;
use crate::staff::CurrentStaff;
use crate::{App, Error};

/// A name seal's side, in millimetres.
pub const PERSON_SEAL_MM: f64 = 20.0;

impl App {
    /// The diameter of a company's round seal, as the operator set it.
    pub fn company_seal_size(&self) -> SealSize {
        self.policy.seal_size
    }

    /// The seal image (SVG) of the user's own order.
    pub async fn order_seal(&self, user: &CurrentUser, id: OrderId) -> Result<String, Error> {
        let view = self.order(user, id).await?;
        self.seal_of(&view.record).await
    }

    /// The seal image (SVG) of an order, for the staff reviewing or producing it.
    pub async fn staff_order_seal(&self, staff: &CurrentStaff, id: OrderId) -> Result<String, Error> {
        staff.require(&[Role::Reviewer, Role::Fulfilment])?;
        let order = self.store.order_by_id(id).await?.ok_or(Error::NotFound)?;
        self.seal_of(&order).await
    }

    async fn seal_of(&self, order: &OrderRecord) -> Result<String, Error> {
        let application =
            self.store.application(order.order.user_id, order.order.application_id).await?.ok_or(Error::NotFound)?;
        let drawing = match application.subject_kind {
            SubjectKind::Enterprise => SealDrawing::company(
                application.company_name.as_deref().unwrap_or_default(),
                None,
                self.policy.seal_size,
            ),
            SubjectKind::Personal => {
                SealDrawing::person(application.holder_name.as_deref().unwrap_or_default(), PERSON_SEAL_MM)
            }
        };
        let drawing = drawing
            .map_err(|e| Error::Conflict { code: "seal_text_invalid", message: format!("无法生成印章：{e}") })?;
        Ok(drawing.svg())
    }
}
