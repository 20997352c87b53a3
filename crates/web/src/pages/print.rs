//! The three paper forms (申请表, 授权委托及诚信承诺书, 服务协议): a blank template anyone can
//! print, and a version pre-filled with the application for its owner. ID numbers are printed
//! masked, with room to write them in full by hand, so no page ever shows one whole.

use app::applications::ApplicationView;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use domain::ApplicationId;
use domain::document::DocumentKind;

use crate::AppState;
use crate::html::{PageError, PagePath, PageResult, render};
use crate::visitor::{PageUser, Visitor};

pub fn router() -> Router<AppState> {
    Router::new().route("/templates/{doc}", get(blank)).route("/applications/{id}/print/{doc}", get(filled))
}

#[derive(Template)]
#[template(path = "print_form.html")]
struct PrintPage {
    doc: DocumentKind,
    operator: String,
    hotline: String,
    view: Option<ApplicationView>,
    back: String,
}

impl PrintPage {
    fn field(&self, pick: fn(&ApplicationView) -> Option<String>) -> String {
        self.view.as_ref().and_then(pick).unwrap_or_default()
    }

    fn company(&self) -> String {
        self.field(|v| v.record.company_name.clone())
    }

    fn credit_code(&self) -> String {
        self.field(|v| v.record.credit_code.clone())
    }

    fn holder(&self) -> String {
        self.field(|v| v.record.holder_name.clone())
    }

    fn holder_id(&self) -> String {
        self.field(|v| v.holder_id_masked.clone())
    }

    fn agent(&self) -> String {
        self.field(|v| v.record.agent_name.clone())
    }

    fn agent_id(&self) -> String {
        self.field(|v| v.agent_id_masked.clone())
    }

    fn agent_phone(&self) -> String {
        self.field(ApplicationView::agent_phone_masked)
    }

    fn agent_email(&self) -> String {
        self.field(|v| v.record.agent_email.clone())
    }

    fn package(&self) -> String {
        self.field(|v| v.package.as_ref().map(|p| format!("{}（{}）", p.name(), p.price)))
    }

    fn business(&self) -> String {
        self.field(|v| {
            let reason = v.record.replacement_reason.map(|r| format!("（{}）", r.label())).unwrap_or_default();
            Some(format!("{}{}{reason}", v.record.subject_kind.label(), v.record.business.label()))
        })
    }

    fn user_type(&self) -> String {
        self.field(|v| v.record.user_type.map(|t| t.label().to_owned()))
    }
}

fn printable(doc: &str) -> Option<DocumentKind> {
    DocumentKind::parse(doc).filter(|k| k.accepts_pdf())
}

/// 下载空白模板.
async fn blank(State(state): State<AppState>, _visitor: Visitor, PagePath(doc): PagePath<String>) -> PageResult {
    let Some(doc) = printable(&doc) else { return Err(PageError::not_found()) };
    // The form the operator uploaded, when there is one; else the built-in printable page.
    match state.app.catalogue().form_template(doc.as_str()).await {
        Ok(Some(pdf)) => {
            use axum::response::IntoResponse;
            let disposition = format!("attachment; filename=\"{}.pdf\"", doc.as_str());
            return Ok((
                StatusCode::OK,
                [
                    (axum::http::header::CONTENT_TYPE, "application/pdf".to_owned()),
                    (axum::http::header::CONTENT_DISPOSITION, disposition),
                ],
                pdf,
            )
                .into_response());
        }
        Ok(None) => {}
        Err(err) => return Err(err.into()),
    }
    let page = PrintPage {
        doc,
        operator: state.config.operator.clone(),
        hotline: state.config.hotline.clone(),
        view: None,
        back: "/apply".into(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// 打印预填版: the owner's application filled in.
async fn filled(
    State(state): State<AppState>,
    PageUser(user, _): PageUser,
    PagePath((id, doc)): PagePath<(ApplicationId, String)>,
) -> PageResult {
    let Some(doc) = printable(&doc) else {
        return Err(PageError::not_found());
    };
    let view = state.app.application(&user, id).await?;
    let page = PrintPage {
        doc,
        operator: state.config.operator.clone(),
        hotline: state.config.hotline.clone(),
        back: format!("/applications/{}/materials", id.0),
        view: Some(view),
    };
    Ok(render(StatusCode::OK, &page))
}
