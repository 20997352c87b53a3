//! 去支付: choose 支付宝 (web cashier or QR code) or 中金支付 (bank), go to the gateway, come back
//! to a page that shows 支付成功 / 支付失败 as the gateway confirms it. (The gateways' own
//! notifications are machine endpoints: `crate::gateways`.)

use app::gateway::{Channel, Checkout, Method};
use app::orders::OrderView;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Form as FormBody, Router};
use domain::{OrderId, OrderStatus};
use serde::Deserialize;

use super::{Layout, Nav};
use crate::AppState;
use crate::html::{PagePath, PageResult, render, see_other};
use crate::security::FormTarget;
use crate::visitor::PageUser;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders/{id}/pay", get(choose).post(start))
        .route("/orders/{id}/pay/refresh", post(refresh))
        .route("/pay/return/{channel}", get(came_back))
}

/// The payment methods on offer, in the order shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodChoice {
    AlipayPage,
    AlipayQr,
    CpcnBank,
}

impl MethodChoice {
    pub const ALL: [Self; 3] = [Self::AlipayPage, Self::AlipayQr, Self::CpcnBank];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AlipayPage => "alipay_page",
            Self::AlipayQr => "alipay_qr",
            Self::CpcnBank => "cpcn_bank",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::AlipayPage => "支付宝 · 网页支付",
            Self::AlipayQr => "支付宝 · 扫码支付",
            Self::CpcnBank => "中金支付 · 网上银行",
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            Self::AlipayPage => "跳转到支付宝收银台，登录账户或扫码付款",
            Self::AlipayQr => "在本页显示二维码，用支付宝 App 扫一扫付款",
            Self::CpcnBank => "选择银行，跳转到网上银行付款（适合对公账户）",
        }
    }

    fn channel(self) -> Channel {
        match self {
            Self::AlipayPage | Self::AlipayQr => Channel::Alipay,
            Self::CpcnBank => Channel::Cpcn,
        }
    }
}

enum Stage {
    Choose { methods: Vec<MethodChoice>, error: Option<String> },
    Redirect { action: String, fields: Vec<(String, String)>, channel: &'static str },
    Qr { svg: String, code: String },
}

#[derive(Template)]
#[template(path = "pay.html")]
struct PayPage {
    layout: Layout,
    view: OrderView,
    stage: Stage,
    banks: &'static [(&'static str, &'static str)],
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StartForm {
    method: String,
    bank_id: String,
}

fn offered(site: &AppState) -> Vec<MethodChoice> {
    let channels = site.app.payments().payment_channels();
    MethodChoice::ALL.into_iter().filter(|m| channels.contains(&m.channel())).collect()
}

async fn choose(
    State(site): State<AppState>,
    PageUser(user, visitor): PageUser,
    PagePath(id): PagePath<OrderId>,
) -> PageResult {
    let view = site.app.order(&user, id).await?;
    if view.record.status != OrderStatus::PendingPayment {
        return Ok(see_other(&format!("/orders/{}", id.0)));
    }
    let layout = Layout::new(&site, &visitor, "订单支付", Nav::Orders);
    let stage = Stage::Choose { methods: offered(&site), error: None };
    Ok(render(StatusCode::OK, &PayPage { layout, view, stage, banks: domain::payment::BANKS }))
}

async fn start(
    State(site): State<AppState>,
    PageUser(user, visitor): PageUser,
    PagePath(id): PagePath<OrderId>,
    FormBody(form): FormBody<StartForm>,
) -> PageResult {
    let view = site.app.order(&user, id).await?;
    let layout = Layout::new(&site, &visitor, "订单支付", Nav::Orders);
    let choose_again = |layout, view, message: String| {
        let stage = Stage::Choose { methods: offered(&site), error: Some(message) };
        render(StatusCode::UNPROCESSABLE_ENTITY, &PayPage { layout, view, stage, banks: domain::payment::BANKS })
    };
    let Some(method) = Method::parse(&form.method, &form.bank_id) else {
        return Ok(choose_again(layout, view, "请选择支付方式".into()));
    };
    let channel = method.channel().label();
    let stage = match site.app.payments().start_payment(&user, id, &method).await {
        Ok(Checkout::Form(form)) => Stage::Redirect { action: form.action, fields: form.fields, channel },
        Ok(Checkout::Qr { code }) => Stage::Qr { svg: crate::qr::svg(&code), code },
        Err(app::Error::Validation(errors)) => {
            let message = errors.iter().next().map(|e| e.message.clone()).unwrap_or_default();
            return Ok(choose_again(layout, view, message));
        }
        Err(err @ app::Error::Unavailable { .. }) => {
            return Ok(choose_again(layout, view, crate::error::describe(&err).2));
        }
        Err(err) => return Err(err.into()),
    };
    let target = match &stage {
        Stage::Redirect { action, .. } => FormTarget::of(action),
        _ => None,
    };
    let mut response = render(StatusCode::OK, &PayPage { layout, view, stage, banks: domain::payment::BANKS });
    if let Some(target) = target {
        response.extensions_mut().insert(target);
    }
    Ok(response)
}

async fn refresh(
    State(site): State<AppState>,
    PageUser(user, _): PageUser,
    PagePath(id): PagePath<OrderId>,
) -> PageResult {
    match site.app.payments().refresh_payment(&user, id).await {
        Ok(view) if view.record.status == OrderStatus::PendingPayment => {
            Ok(see_other(&format!("/orders/{}?notice=payment_not_received", id.0)))
        }
        Ok(_) => Ok(see_other(&format!("/orders/{}?notice=payment_received", id.0))),
        Err(err) => Err(err.into()),
    }
}

#[derive(Template)]
#[template(path = "pay_result.html")]
struct ResultPage {
    layout: Layout,
    view: Option<OrderView>,
    paid: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReturnQuery {
    /// Alipay's return parameter.
    out_trade_no: String,
    /// CPCN's return parameter.
    #[serde(rename = "PaymentNo")]
    payment_no: String,
}

/// Back from the gateway. What the browser brings is never trusted: the order's state is asked
/// of the gateway (an active query), and the page shows what that says.
async fn came_back(
    State(site): State<AppState>,
    PageUser(user, visitor): PageUser,
    PagePath(channel): PagePath<String>,
    Query(q): Query<ReturnQuery>,
) -> PageResult {
    let layout = Layout::new(&site, &visitor, "支付结果", Nav::Orders);
    let trade = if q.out_trade_no.is_empty() { q.payment_no } else { q.out_trade_no };
    if Channel::parse(&channel).is_none() || trade.is_empty() {
        return Ok(render(StatusCode::OK, &ResultPage { layout, view: None, paid: false }));
    }
    let id = site.app.payments().order_of_trade(&user, &trade).await?;
    let view = match site.app.payments().refresh_payment(&user, id).await {
        Ok(view) => view,
        // The gateway is unreachable: show the order as we know it.
        Err(app::Error::Unavailable { .. }) => match site.app.order(&user, id).await {
            Ok(view) => view,
            Err(err) => return Err(err.into()),
        },
        Err(err) => return Err(err.into()),
    };
    let paid = view.record.status != OrderStatus::PendingPayment && view.record.status != OrderStatus::Cancelled;
    Ok(render(StatusCode::OK, &ResultPage { layout, view: Some(view), paid }))
}
