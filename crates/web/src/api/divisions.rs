//! Administrative divisions for the province → city → county selects.

use axum::Json;
use axum::extract::Query;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::Divisions;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
pub struct DivisionQuery {
    /// List the cities of this province.
    pub province: Option<String>,
    /// List the counties of this city.
    pub city: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DivisionItem {
    pub code: String,
    pub name: String,
}

/// Provinces; or the cities of `province`; or the counties of `city` (GB/T 2260). An unknown
/// code gives an empty list.
#[utoipa::path(get, path = "/api/v1/divisions", tag = "divisions", params(DivisionQuery),
    responses((status = 200, body = Vec<DivisionItem>)))]
pub async fn list_divisions(Query(q): Query<DivisionQuery>) -> Response {
    let table = Divisions::get();
    let list = match (&q.city, &q.province) {
        (Some(city), _) => table.counties_of(city),
        (None, Some(province)) => table.cities_of(province),
        (None, None) => table.provinces(),
    };
    let items: Vec<DivisionItem> =
        list.iter().map(|d| DivisionItem { code: d.code.into(), name: d.name.into() }).collect();
    ([(header::CACHE_CONTROL, "public, max-age=86400")], Json(items)).into_response()
}
