//! The store contract: every test runs against SQLite and against PostgreSQL (when configured),
//! each on a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use app::gateway::Channel;
use app::ports::{
    AddressRepo, AgentFields, ApplicationBook, ApplicationRepo, CatalogRepo, ConsentRepo, DevOutboxRepo,
    DocumentRecord, DocumentRepo, DocumentShelf, NewApplication, NewOrder, NewSmsCode, OrderBook, OrderInvoice,
    OrderRepo, SessionRecord, SessionRepo, SmsCodeRepo, Store, SubjectFields, ThrottleRepo, UserDirectory, UserRepo,
};
use app::{Refusal, StoreError, Unique};
use domain::application::{Business, ReplacementReason, SubjectKind, UserType};
use domain::document::DocumentKind;
use domain::pricing::{Delivery, FeeBreakdown};
use domain::{Actor, ApplicationId, Money, OrderStatus};
use domain::{AddressDraft, AddressId, Email, Phone, SmsPurpose, UserId};
use store::Db;
use store::testing::TestDb;
use time::{Duration, OffsetDateTime, macros::datetime};

const T0: OffsetDateTime = datetime!(2026-11-25 08:00 UTC);

macro_rules! contract {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {$(
            #[tokio::test]
            async fn $name() {
                let t = store::testing::TestDb::sqlite().await;
                super::$name(&t.db).await;
                t.finish().await;
            }
        )+}
        mod postgres {$(
            #[tokio::test]
            async fn $name() {
                if let Some(t) = store::testing::TestDb::postgres().await {
                    super::$name(&t.db).await;
                    t.finish().await;
                }
            }
        )+}
    };
}

contract!(
    jobs_see_any_order_count_them_by_state_and_find_stale_payments,
    the_catalog_is_edited_and_only_what_is_offered_is_shown,
    staff_roles_passwords_and_sessions_change_as_an_admin_and_the_holder_say,
    a_large_refund_waits_for_a_second_person_and_is_asked_once,
    a_days_bill_is_checked_by_one_instance_and_taken_over_after_its_lease,
    gateway_notices_are_logged_and_the_refused_ones_counted,
    columns_have_their_real_types,
    unique_rules_name_what_both_schemas_define,
    a_stored_time_out_of_range_is_an_error_not_1970,
    phone_numbers_are_unique,
    profile_updates_are_stored,
    password_change_ends_other_sessions,
    sessions_round_trip_and_expire,
    new_code_retires_the_old_one,
    wrong_guesses_kill_a_code,
    a_code_is_consumed_once_even_under_concurrency,
    sends_are_counted_per_phone_and_client,
    throttle_counts_and_clears,
    first_address_becomes_default,
    address_limit_is_enforced,
    addresses_are_invisible_to_other_users,
    deleting_the_default_promotes_another,
    exactly_one_default_after_set_default,
    dev_outbox_lists_newest_first,
    the_catalog_is_seeded,
    applications_round_trip_and_stay_with_their_owner,
    orders_are_created_once_per_key_and_per_open_subject,
    an_order_with_a_new_address_saves_both_or_neither,
    order_transitions_are_conditional_and_recorded,
    documents_replace_per_kind_and_stay_with_their_owner,
    consents_are_recorded_per_version,
    concurrent_writers_never_see_a_locked_database,
    abandoned_drafts_are_those_never_ordered,
    audit_rows_can_be_added_but_never_changed_or_removed,
    staff_accounts_sessions_and_totp_steps,
    a_review_decision_needs_the_claim_and_is_written_whole,
    a_payment_settles_once_and_a_late_one_owes_one_refund,
    nothing_ships_without_a_recorded_key_and_each_step_is_written_whole,
    notifications_are_queued_once_and_leased_to_one_worker,
    a_closed_account_keeps_only_its_orders,
    orders_are_found_by_number_phone_name_subject_trade_day_and_state,
    an_invoice_keeps_its_files_and_is_voided_once_by_a_red_letter_invoice,
    a_photo_is_read_by_one_worker_and_a_newer_upload_wins,
    a_sweep_runs_on_one_instance_per_period,
    a_registration_code_is_used_only_with_the_account_it_creates,
    a_certificate_is_recorded_with_its_order_once_and_revoked_once,
    station_tokens_act_until_revoked,
    a_certificate_keeps_the_first_seal_made_for_it,
    certificates_expiring_soon_are_listed_and_a_revocation_is_asked_once,
    a_form_template_is_replaced_per_kind_and_removed,
    finance_alerts_list_open_ones_first,
    a_paid_order_that_asked_for_an_invoice_waits_for_it_and_counts_its_sendings,
    an_edited_order_shows_its_new_subject_name,
);

fn phone(n: u32) -> Phone {
    Phone::parse(&format!("138{n:08}")).unwrap()
}

async fn user(db: &Db, n: u32) -> UserId {
    db.create_user(&phone(n), "$argon2id$fake", T0).await.unwrap()
}

fn session(digest: &str, user: UserId, at: OffsetDateTime) -> SessionRecord {
    SessionRecord {
        token_digest: digest.into(),
        user_id: user,
        created_at: at,
        last_seen_at: at,
        expires_at: at + Duration::hours(12),
    }
}

fn code<'a>(phone: &'a Phone, mac: &str, at: OffsetDateTime) -> NewSmsCode<'a> {
    NewSmsCode {
        phone,
        purpose: SmsPurpose::Register,
        code_mac: mac.into(),
        client: "127.0.0.1",
        created_at: at,
        expires_at: at + Duration::minutes(10),
    }
}

fn address(detail: &str, is_default: bool) -> domain::Address {
    AddressDraft {
        recipient: "王五".into(),
        phone: "13712345678".into(),
        province_code: "440000".into(),
        city_code: "440300".into(),
        district_code: "440305".into(),
        detail: detail.into(),
        is_default,
    }
    .validate()
    .unwrap()
}

async fn phone_numbers_are_unique(db: &Db) {
    let id = user(db, 1).await;
    let err = db.create_user(&phone(1), "$argon2id$other", T0).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(Unique::UserPhone)), "{err:?}");
    let found = db.user_by_phone(&phone(1)).await.unwrap().unwrap();
    assert_eq!((found.id, found.password_hash.as_str()), (id, "$argon2id$fake"));
    assert!(db.user_by_phone(&phone(2)).await.unwrap().is_none());
    assert_eq!(db.user_by_id(id).await.unwrap().unwrap().phone, phone(1));
}

async fn profile_updates_are_stored(db: &Db) {
    let id = user(db, 1).await;
    let email = Email::parse("li@example.com").unwrap();
    db.update_profile(id, Some("李雷"), Some(&email), T0).await.unwrap();
    let u = db.user_by_id(id).await.unwrap().unwrap();
    assert_eq!((u.name.as_deref(), u.email.as_deref()), (Some("李雷"), Some("li@example.com")));
    db.update_profile(id, None, None, T0).await.unwrap();
    let u = db.user_by_id(id).await.unwrap().unwrap();
    assert_eq!((u.name, u.email), (None, None));
}

async fn password_change_ends_other_sessions(db: &Db) {
    let a = user(db, 1).await;
    let b = user(db, 2).await;
    for (digest, owner) in [("a1", a), ("a2", a), ("b1", b)] {
        db.create_session(&session(digest, owner, T0)).await.unwrap();
    }
    db.set_password(a, "$argon2id$new", Some("a2"), T0).await.unwrap();
    assert!(db.session_with_user("a1").await.unwrap().is_none());
    assert!(db.session_with_user("a2").await.unwrap().is_some());
    assert!(db.session_with_user("b1").await.unwrap().is_some(), "another user's session survives");
    assert_eq!(db.user_by_id(a).await.unwrap().unwrap().password_hash, "$argon2id$new");
    db.set_password(a, "$argon2id$newer", None, T0).await.unwrap();
    assert!(db.session_with_user("a2").await.unwrap().is_none());
}

/// On PostgreSQL times are `timestamptz` and flags `boolean` (SQLite has no such types).
async fn columns_have_their_real_types(db: &Db) {
    if db.backend() != store::Backend::Postgres {
        return;
    }
    let count = |sql: &'static str| store::testing::scalar(db, sql);
    let of_type = |ty: &str, names: &str| {
        format!(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'public' \
             AND table_name <> '_sqlx_migrations' AND data_type {ty} AND ({names})"
        )
    };
    let times = "column_name LIKE '%\\_at' OR column_name IN ('at', 'until', 'not_before', 'not_after', \
                 'locked_until', 'restricted_until')";
    let flags = "column_name IN ('is_default', 'active', 'flagged', 'red', 'verified', 'disabled', \
                 'totp_enabled', 'must_change_password', 'credit_code_checksum_ok')";
    let wrong_times = store::testing::scalar(db, &of_type("<> 'timestamp with time zone'", times)).await;
    let right_times = store::testing::scalar(db, &of_type("= 'timestamp with time zone'", times)).await;
    assert_eq!(wrong_times, 0, "every time column is timestamptz");
    assert!(right_times >= 60, "{right_times} time columns");
    assert_eq!(store::testing::scalar(db, &of_type("<> 'boolean'", flags)).await, 0, "every flag is boolean");
    assert_eq!(store::testing::scalar(db, &of_type("= 'boolean'", flags)).await, 10);
    let der = "SELECT COUNT(*) FROM information_schema.columns WHERE column_name = 'der' AND data_type = 'bytea'";
    assert_eq!(count(der).await, 2, "certificates and seals keep their DER as bytea");
}

/// Each unique rule the use cases tell apart is a unique constraint or index of the schema, under
/// the name PostgreSQL reports and over the columns SQLite's message names.
async fn unique_rules_name_what_both_schemas_define(db: &Db) {
    for (rule, name, sqlite) in store::testing::unique_rules() {
        let found = match db.backend() {
            store::Backend::Postgres => {
                let sql = format!(
                    "SELECT COUNT(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                     WHERE i.indisunique AND c.relname = '{name}'"
                );
                store::testing::scalar(db, &sql).await
            }
            store::Backend::Sqlite => {
                let table = sqlite.split('.').next().unwrap();
                let columns: Vec<&str> = sqlite.split(", ").map(|c| c.split_once('.').unwrap().1).collect();
                let sql = format!(
                    "SELECT COUNT(*) FROM pragma_index_list('{table}') AS l WHERE l.\"unique\" = 1 AND \
                     (SELECT group_concat(name, ', ') FROM \
                      (SELECT name FROM pragma_index_info(l.name) ORDER BY seqno)) = '{}'",
                    columns.join(", ")
                );
                store::testing::scalar(db, &sql).await
            }
        };
        assert_eq!(found, 1, "{rule:?}: {name} / {sqlite}");
    }
}

/// A time the database holds but `OffsetDateTime` cannot is reported, never read as 1970.
async fn a_stored_time_out_of_range_is_an_error_not_1970(db: &Db) {
    let a = user(db, 1).await;
    db.create_session(&session("far", a, T0)).await.unwrap();
    db.execute_raw(match db.backend() {
        store::Backend::Sqlite => "UPDATE sessions SET expires_at = 99999999999999",
        store::Backend::Postgres => "UPDATE sessions SET expires_at = '20000-01-01 00:00:00+00'",
    })
    .await
    .unwrap();
    let read = db.session_with_user("far").await;
    assert!(matches!(&read, Err(app::StoreError::Database(m)) if m.contains("expires_at")), "{read:?}");
}

async fn sessions_round_trip_and_expire(db: &Db) {
    let a = user(db, 1).await;
    db.create_session(&session("s1", a, T0)).await.unwrap();
    db.touch_session("s1", T0 + Duration::minutes(5)).await.unwrap();
    let (s, u) = db.session_with_user("s1").await.unwrap().unwrap();
    assert_eq!((s.user_id, s.last_seen_at, s.expires_at), (a, T0 + Duration::minutes(5), T0 + Duration::hours(12)));
    assert_eq!((u.id, u.phone.as_str()), (a, phone(1).as_str()));
    db.create_session(&session("s2", a, T0 - Duration::hours(13))).await.unwrap();
    assert_eq!(db.purge_expired(T0).await.unwrap(), 1);
    assert!(db.session_with_user("s2").await.unwrap().is_none());
    db.delete_session("s1").await.unwrap();
    assert!(db.session_with_user("s1").await.unwrap().is_none());
}

async fn new_code_retires_the_old_one(db: &Db) {
    let p = phone(1);
    db.insert_sms_code(&code(&p, "first", T0)).await.unwrap();
    db.insert_sms_code(&code(&p, "second", T0 + Duration::seconds(61))).await.unwrap();
    let active = db.active_sms_code(&p, SmsPurpose::Register, T0 + Duration::seconds(62)).await.unwrap().unwrap();
    assert_eq!(active.code_mac, "second");
    assert!(db.active_sms_code(&p, SmsPurpose::ResetPassword, T0).await.unwrap().is_none(), "bound to purpose");
    assert!(db.active_sms_code(&phone(2), SmsPurpose::Register, T0).await.unwrap().is_none(), "bound to phone");
    let later = T0 + Duration::seconds(61) + Duration::minutes(10);
    assert!(db.active_sms_code(&p, SmsPurpose::Register, later).await.unwrap().is_none(), "expires after 10 minutes");
}

async fn wrong_guesses_kill_a_code(db: &Db) {
    let p = phone(1);
    db.insert_sms_code(&code(&p, "mac", T0)).await.unwrap();
    let id = db.active_sms_code(&p, SmsPurpose::Register, T0).await.unwrap().unwrap().id;
    for expected in 1..=4 {
        assert_eq!(db.record_wrong_guess(id, 5, T0).await.unwrap(), expected);
        assert!(db.active_sms_code(&p, SmsPurpose::Register, T0).await.unwrap().is_some());
    }
    assert_eq!(db.record_wrong_guess(id, 5, T0).await.unwrap(), 5);
    assert!(db.active_sms_code(&p, SmsPurpose::Register, T0).await.unwrap().is_none());
}

async fn a_code_is_consumed_once_even_under_concurrency(db: &Db) {
    let p = phone(1);
    db.insert_sms_code(&code(&p, "mac", T0)).await.unwrap();
    let id = db.active_sms_code(&p, SmsPurpose::Register, T0).await.unwrap().unwrap().id;
    let attempts = (0..8).map(|_| {
        let db = db.clone();
        tokio::spawn(async move { db.consume_sms_code(id, T0).await.unwrap() })
    });
    let mut wins = 0;
    for attempt in attempts {
        wins += usize::from(attempt.await.unwrap());
    }
    assert_eq!(wins, 1);
    assert!(db.active_sms_code(&p, SmsPurpose::Register, T0).await.unwrap().is_none());
}

async fn sends_are_counted_per_phone_and_client(db: &Db) {
    let (p1, p2) = (phone(1), phone(2));
    for i in 0..3 {
        db.insert_sms_code(&code(&p1, "m", T0 + Duration::minutes(i))).await.unwrap();
    }
    db.insert_sms_code(&NewSmsCode { client: "10.0.0.9", ..code(&p2, "m", T0) }).await.unwrap();
    let times = db.sms_sends_to_phone_since(&p1, T0 + Duration::minutes(1)).await.unwrap();
    assert_eq!(times, vec![T0 + Duration::minutes(1), T0 + Duration::minutes(2)]);
    assert_eq!(db.sms_sends_from_client_since("127.0.0.1", T0).await.unwrap(), 3);
    assert_eq!(db.sms_sends_from_client_since("10.0.0.9", T0).await.unwrap(), 1);
}

async fn throttle_counts_and_clears(db: &Db) {
    for i in 0..3 {
        db.record_failure("login:phone:1", T0 + Duration::minutes(i)).await.unwrap();
    }
    db.record_failure("login:client:x", T0).await.unwrap();
    assert_eq!(db.failures_since("login:phone:1", T0 + Duration::minutes(1)).await.unwrap().len(), 2);
    db.clear_failures("login:phone:1").await.unwrap();
    assert!(db.failures_since("login:phone:1", T0).await.unwrap().is_empty());
    assert_eq!(db.failures_since("login:client:x", T0).await.unwrap().len(), 1);
}

async fn first_address_becomes_default(db: &Db) {
    let a = user(db, 1).await;
    let first = db.create_address(a, &address("科技园一路1号", false), 20, T0).await.unwrap().unwrap();
    let second = db.create_address(a, &address("科技园二路2号", false), 20, T0).await.unwrap().unwrap();
    let list = db.list_addresses(a).await.unwrap();
    assert_eq!(list.iter().map(|r| (r.id, r.is_default)).collect::<Vec<_>>(), vec![(first, true), (second, false)]);
    let stored = &list[0];
    assert_eq!((stored.region_name.as_str(), stored.district_code.as_str()), ("广东省深圳市南山区", "440305"));
}

async fn address_limit_is_enforced(db: &Db) {
    let a = user(db, 1).await;
    for i in 0..3 {
        assert!(db.create_address(a, &address(&format!("科技园{i}号楼"), false), 3, T0).await.unwrap().is_some());
    }
    assert!(db.create_address(a, &address("科技园9号楼", false), 3, T0).await.unwrap().is_none());
    assert_eq!(db.list_addresses(a).await.unwrap().len(), 3);
}

async fn addresses_are_invisible_to_other_users(db: &Db) {
    let a = user(db, 1).await;
    let b = user(db, 2).await;
    let id = db.create_address(a, &address("科技园一路1号", false), 20, T0).await.unwrap().unwrap();
    assert!(db.address(b, id).await.unwrap().is_none());
    assert!(db.list_addresses(b).await.unwrap().is_empty());
    assert!(!db.update_address(b, id, &address("被改掉了", true), T0).await.unwrap());
    assert!(!db.set_default_address(b, id, T0).await.unwrap());
    assert!(!db.delete_address(b, id).await.unwrap());
    let still = db.address(a, id).await.unwrap().unwrap();
    assert_eq!((still.detail.as_str(), still.is_default), ("科技园一路1号", true));
    assert!(db.address(a, AddressId(id.0 + 1000)).await.unwrap().is_none());
}

async fn deleting_the_default_promotes_another(db: &Db) {
    let a = user(db, 1).await;
    let first = db.create_address(a, &address("科技园一路1号", false), 20, T0).await.unwrap().unwrap();
    let second = db.create_address(a, &address("科技园二路2号", false), 20, T0).await.unwrap().unwrap();
    assert!(db.delete_address(a, first).await.unwrap());
    let list = db.list_addresses(a).await.unwrap();
    assert_eq!(list.iter().map(|r| (r.id, r.is_default)).collect::<Vec<_>>(), vec![(second, true)]);
}

async fn exactly_one_default_after_set_default(db: &Db) {
    let a = user(db, 1).await;
    let ids = [("一号楼101", false), ("二号楼202", true), ("三号楼303", false)];
    let mut created = Vec::new();
    for (detail, default) in ids {
        created.push(db.create_address(a, &address(detail, default), 20, T0).await.unwrap().unwrap());
    }
    let defaults = |list: Vec<app::ports::AddressRecord>| {
        list.into_iter().filter(|r| r.is_default).map(|r| r.id).collect::<Vec<_>>()
    };
    assert_eq!(defaults(db.list_addresses(a).await.unwrap()), vec![created[1]]);
    assert!(db.set_default_address(a, created[2], T0).await.unwrap());
    assert_eq!(defaults(db.list_addresses(a).await.unwrap()), vec![created[2]]);
    assert!(db.update_address(a, created[0], &address("一号楼102", true), T0).await.unwrap());
    assert_eq!(defaults(db.list_addresses(a).await.unwrap()), vec![created[0]]);
    assert!(db.update_address(a, created[0], &address("一号楼103", false), T0).await.unwrap());
    assert_eq!(defaults(db.list_addresses(a).await.unwrap()), vec![created[0]], "unticking keeps a default");
}

async fn dev_outbox_lists_newest_first(db: &Db) {
    db.record_message("sms", "13800000001", "", "验证码 111111", T0).await.unwrap();
    db.record_message("email", "a@example.com", "主题", "正文", T0 + Duration::seconds(1)).await.unwrap();
    let list = db.recent_messages(10).await.unwrap();
    assert_eq!(list.iter().map(|m| m.channel.as_str()).collect::<Vec<_>>(), ["email", "sms"]);
    assert_eq!(db.recent_messages(1).await.unwrap().len(), 1);
}

async fn the_catalog_is_seeded(db: &Db) {
    let catalog = db.catalog().await.unwrap();
    assert_eq!(catalog.packages.len(), 10);
    let first = &catalog.packages[0];
    assert_eq!(
        (first.code.as_str(), first.subject_kind, first.years, first.price.fen()),
        ("ent-main-1", SubjectKind::Enterprise, 1, 40_000)
    );
    assert_eq!(first.name(), "主锁 · 1年");
    assert_eq!((catalog.fees.courier.fen(), catalog.fees.pickup.fen()), (1500, 0));
    assert_eq!(catalog.pickup_points.len(), 1);
}

async fn applications_round_trip_and_stay_with_their_owner(db: &Db) {
    let a = user(db, 1).await;
    let b = user(db, 2).await;
    let new = NewApplication {
        subject_kind: SubjectKind::Enterprise,
        business: Business::Replacement,
        replacement_reason: Some(ReplacementReason::Lost),
        replaced_serial: Some("SN-001".into()),
    };
    let id = db.create_application(a, &new, T0).await.unwrap();
    let fresh = db.application(a, id).await.unwrap().unwrap();
    assert_eq!(
        (fresh.business, fresh.replacement_reason, fresh.package_id),
        (Business::Replacement, Some(ReplacementReason::Lost), None)
    );
    assert_eq!(fresh.credit_code_checksum_ok, None);

    let package = db.catalog().await.unwrap().packages[1].id;
    assert!(db.set_application_package(a, id, package, T0).await.unwrap());
    let subject = SubjectFields {
        company_name: Some("示例科技有限公司".into()),
        credit_code: Some("91350100M000100Y43".into()),
        credit_code_checksum_ok: Some(false),
        user_type: UserType::Enterprise,
        holder_name: "王五".into(),
        holder_id_sealed: "sealed-holder".into(),
        holder_id_index: "index-holder".into(),
    };
    assert!(db.set_application_subject(a, id, &subject, T0).await.unwrap());
    let agent = AgentFields {
        name: "赵六".into(),
        id_sealed: "sealed-agent".into(),
        id_index: "index-agent".into(),
        phone: "13700000000".into(),
        email: "z@example.com".into(),
    };
    assert!(db.set_application_agent(a, id, &agent, T0 + Duration::minutes(1)).await.unwrap());
    let full = db.application(a, id).await.unwrap().unwrap();
    assert_eq!(full.package_id, Some(package));
    assert_eq!((full.credit_code_checksum_ok, full.user_type), (Some(false), Some(UserType::Enterprise)));
    assert_eq!(
        (full.holder_id_sealed.as_deref(), full.agent_id_sealed.as_deref()),
        (Some("sealed-holder"), Some("sealed-agent"))
    );
    assert_eq!(full.updated_at, T0 + Duration::minutes(1));

    assert!(db.application(b, id).await.unwrap().is_none());
    assert!(db.applications(b).await.unwrap().is_empty());
    assert!(!db.set_application_package(b, id, package, T0).await.unwrap());
    assert!(!db.set_application_subject(b, id, &subject, T0).await.unwrap());
    assert!(!db.set_application_agent(b, id, &agent, T0).await.unwrap());
    assert!(!db.delete_application(b, id).await.unwrap());
    assert_eq!(db.applications(a).await.unwrap().len(), 1);
    assert!(db.delete_application(a, id).await.unwrap());
    assert!(db.application(a, id).await.unwrap().is_none());
}

async fn draft(db: &Db, user: UserId) -> ApplicationId {
    let new = NewApplication {
        subject_kind: SubjectKind::Enterprise,
        business: Business::New,
        replacement_reason: None,
        replaced_serial: None,
    };
    db.create_application(user, &new, T0).await.unwrap()
}

fn new_order(user: UserId, application: ApplicationId, key: &str, subject: &str) -> NewOrder {
    let fen = |n| Money::from_fen(n).unwrap();
    NewOrder {
        order_no: format!("SD-{key}-{subject}"),
        user_id: user,
        application_id: application,
        idempotency_key: key.into(),
        request_hash: "hash".into(),
        subject_kind: SubjectKind::Enterprise,
        business: Business::New,
        subject_index: subject.into(),
        subject_name: "示例科技有限公司".into(),
        package_name: "主锁 · 1年".into(),
        delivery: Delivery::Courier,
        ship_to: Some("张三\n13912345678\n广东省深圳市南山区科技园".into()),
        new_address: None,
        pickup_point: None,
        invoice: Some(OrderInvoice {
            kind: "normal".into(),
            title: "示例科技有限公司".into(),
            taxpayer_no: Some("91350100M000100Y43".into()),
            address_phone: None,
            bank_account: None,
            delivery: "email".into(),
            email: Some("f@example.com".into()),
            ship_to: None,
        }),
        fees: FeeBreakdown { package: fen(40_000), delivery: fen(1500), service: fen(0), total: fen(41_500) },
        flagged: true,
    }
}

async fn orders_are_created_once_per_key_and_per_open_subject(db: &Db) {
    let a = user(db, 1).await;
    let application = draft(db, a).await;
    let order = new_order(a, application, "key-1", "subject-1");
    let id = db.create_order(&order, T0).await.unwrap();
    let stored = db.order(a, id).await.unwrap().unwrap();
    assert_eq!((stored.status, &stored.order), (OrderStatus::PendingPayment, &order), "every snapshot round-trips");
    assert_eq!(db.order_by_idempotency_key(a, "key-1").await.unwrap().unwrap().id, id);

    let err = db.create_order(&new_order(a, application, "key-1", "subject-2"), T0).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(Unique::OrderIdempotencyKey)), "{err:?}");
    let err = db.create_order(&new_order(a, application, "key-2", "subject-1"), T0).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(Unique::OrderOpenSubject)), "{err:?}");
    assert_eq!(
        db.open_order_for_subject("subject-1", Business::New).await.unwrap(),
        Some((a, "SD-key-1-subject-1".into()))
    );
    assert_eq!(db.open_order_for_subject("subject-1", Business::Replacement).await.unwrap(), None);
    assert_eq!(db.open_order_for_application(application).await.unwrap(), Some((id, OrderStatus::PendingPayment)));

    // Another user's view and a cancelled order free the slot.
    let b = user(db, 2).await;
    assert!(db.order(b, id).await.unwrap().is_none());
    assert!(db.orders(b).await.unwrap().is_empty());
    assert!(
        db.transition_order(id, OrderStatus::PendingPayment, OrderStatus::Cancelled, Actor::Applicant, None, T0)
            .await
            .unwrap()
    );
    assert_eq!(db.open_order_for_application(application).await.unwrap(), None);
    db.create_order(&new_order(a, application, "key-3", "subject-1"), T0).await.unwrap();
    assert_eq!(db.orders(a).await.unwrap().len(), 2);
}

async fn an_order_with_a_new_address_saves_both_or_neither(db: &Db) {
    use domain::address::MAX_ADDRESSES_PER_USER;
    let a = user(db, 1).await;
    let application = draft(db, a).await;
    let with = |key: &str, subject: &str, detail: &str| NewOrder {
        new_address: Some(address(detail, false)),
        ..new_order(a, application, key, subject)
    };
    db.create_order(&with("key-1", "subject-1", "科技园北区9栋"), T0).await.unwrap();
    let book = db.list_addresses(a).await.unwrap();
    assert_eq!(book.iter().map(|r| (r.detail.as_str(), r.is_default)).collect::<Vec<_>>(), [("科技园北区9栋", true)]);

    // The order refused (its key was used): the address typed with it is not saved either.
    let err = db.create_order(&with("key-1", "subject-2", "科技园南区2栋"), T0).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(Unique::OrderIdempotencyKey)), "{err:?}");
    assert_eq!(db.list_addresses(a).await.unwrap().len(), 1);

    // A full address book refuses the order that would add to it, whole.
    for i in 1..MAX_ADDRESSES_PER_USER {
        db.create_address(a, &address(&format!("科技园{i}号楼"), false), MAX_ADDRESSES_PER_USER, T0)
            .await
            .unwrap()
            .unwrap();
    }
    let err = db.create_order(&with("key-2", "subject-3", "科技园南区3栋"), T0).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused(Refusal::AddressBookFull)), "{err:?}");
    assert!(db.order_by_idempotency_key(a, "key-2").await.unwrap().is_none(), "no order without its address");
    assert_eq!(db.list_addresses(a).await.unwrap().len(), MAX_ADDRESSES_PER_USER);
}

async fn order_transitions_are_conditional_and_recorded(db: &Db) {
    let a = user(db, 1).await;
    let application = draft(db, a).await;
    let id = db.create_order(&new_order(a, application, "key-1", "subject-1"), T0).await.unwrap();
    assert_eq!(db.unpaid_orders_created_before(T0 + Duration::seconds(1)).await.unwrap(), vec![id]);
    assert!(db.unpaid_orders_created_before(T0).await.unwrap().is_empty());

    let later = T0 + Duration::minutes(5);
    assert!(
        db.transition_order(
            id,
            OrderStatus::PendingPayment,
            OrderStatus::UnderReview,
            Actor::PaymentGateway,
            None,
            later
        )
        .await
        .unwrap()
    );
    // A second writer that still believes the order is unpaid changes nothing.
    assert!(
        !db.transition_order(
            id,
            OrderStatus::PendingPayment,
            OrderStatus::Cancelled,
            Actor::System,
            Some("超时"),
            later
        )
        .await
        .unwrap()
    );
    assert_eq!(db.order(a, id).await.unwrap().unwrap().status, OrderStatus::UnderReview);
    let events = db.order_events(id).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!((events[0].from, events[0].to, events[0].actor), (None, OrderStatus::PendingPayment, Actor::Applicant));
    assert_eq!(
        (events[1].from, events[1].to, events[1].actor, events[1].at),
        (Some(OrderStatus::PendingPayment), OrderStatus::UnderReview, Actor::PaymentGateway, later)
    );
    assert!(db.unpaid_orders_created_before(later).await.unwrap().is_empty());
    // The list's summaries say what the full records say, newest first, and only the owner's.
    let second = draft(db, a).await;
    let newer = db.create_order(&new_order(a, second, "key-2", "subject-2"), later).await.unwrap();
    let summaries = db.order_summaries(a).await.unwrap();
    let records = db.orders(a).await.unwrap();
    assert_eq!(summaries.iter().map(|s| s.id).collect::<Vec<_>>(), [newer, id]);
    for (s, r) in summaries.iter().zip(&records) {
        let o = &r.order;
        assert_eq!(
            (s.id, &s.order_no, s.status, s.subject_kind, s.business, &s.subject_name, &s.package_name),
            (r.id, &o.order_no, r.status, o.subject_kind, o.business, &o.subject_name, &o.package_name)
        );
        assert_eq!((s.total, s.created_at), (o.fees.total, r.created_at));
    }
    assert!(db.order_summaries(user(db, 2).await).await.unwrap().is_empty());
}

fn document(application: ApplicationId, kind: DocumentKind, key: &str) -> DocumentRecord {
    DocumentRecord {
        application_id: application,
        kind,
        file_key: key.into(),
        wrapped_key: "wrapped".into(),
        content_type: "image/jpeg".into(),
        size: 1234,
        sha256: "ab".repeat(32),
        uploaded_at: T0,
    }
}

async fn documents_replace_per_kind_and_stay_with_their_owner(db: &Db) {
    let a = user(db, 1).await;
    let b = user(db, 2).await;
    let application = draft(db, a).await;
    assert_eq!(db.put_document(a, &document(application, DocumentKind::License, "k1.bin")).await.unwrap(), None);
    assert_eq!(
        db.put_document(a, &document(application, DocumentKind::License, "k2.bin")).await.unwrap(),
        Some("k1.bin".into())
    );
    db.put_document(a, &document(application, DocumentKind::HolderIdFront, "k3.bin")).await.unwrap();
    let docs = db.documents(a, application).await.unwrap();
    assert_eq!(docs.iter().map(|d| d.file_key.as_str()).collect::<Vec<_>>(), ["k2.bin", "k3.bin"]);
    let referenced = db.referenced_file_keys().await.unwrap();
    assert!(referenced.contains("k2.bin") && referenced.contains("k3.bin") && !referenced.contains("k1.bin"));
    assert_eq!(
        db.document(a, application, DocumentKind::License).await.unwrap().unwrap(),
        document(application, DocumentKind::License, "k2.bin")
    );

    assert!(
        db.put_document(b, &document(application, DocumentKind::License, "k9.bin")).await.is_err(),
        "not b's application"
    );
    assert!(db.documents(b, application).await.unwrap().is_empty());
    assert!(db.document(b, application, DocumentKind::License).await.unwrap().is_none());
    assert_eq!(db.delete_document(b, application, DocumentKind::License).await.unwrap(), None);
    assert_eq!(db.delete_document(a, application, DocumentKind::License).await.unwrap(), Some("k2.bin".into()));
    assert_eq!(db.documents(a, application).await.unwrap().len(), 1);
}

async fn consents_are_recorded_per_version(db: &Db) {
    let a = user(db, 1).await;
    assert!(!db.has_consent(a, "v1").await.unwrap());
    db.record_consent(a, "v1", "digest", "identity_verification", "192.0.2.1", T0).await.unwrap();
    assert!(db.has_consent(a, "v1").await.unwrap());
    assert!(!db.has_consent(a, "v2").await.unwrap());
    assert!(!db.has_consent(user(db, 2).await, "v1").await.unwrap());
}

/// SECURITY G2: fifty writers at once (transactions that read then write, and single inserts)
/// all succeed; on SQLite that takes `BEGIN IMMEDIATE` and the busy timeout.
async fn concurrent_writers_never_see_a_locked_database(db: &Db) {
    let mut tasks = Vec::new();
    for n in 0..50u32 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let owner = db.create_user(&phone(100 + n), "$argon2id$fake", T0).await?;
            for i in 0..4 {
                db.create_address(owner, &address(&format!("并发测试{i}号楼"), i == 0), 20, T0).await?;
                db.record_failure(&format!("login:phone:{n}"), T0).await?;
                let p = phone(100 + n);
                db.insert_sms_code(&code(&p, "mac", T0 + Duration::seconds(i64::from(i)))).await?;
            }
            Ok::<_, StoreError>(owner)
        }));
    }
    for task in tasks {
        let owner = task.await.unwrap().unwrap();
        let list = db.list_addresses(owner).await.unwrap();
        assert_eq!((list.len(), list.iter().filter(|a| a.is_default).count()), (4, 1));
    }
}

async fn abandoned_drafts_are_those_never_ordered(db: &Db) {
    let a = user(db, 1).await;
    let abandoned = draft(db, a).await;
    db.put_document(a, &document(abandoned, DocumentKind::License, "gone.bin")).await.unwrap();
    let ordered = draft(db, a).await;
    db.create_order(&new_order(a, ordered, "key-1", "subject-1"), T0).await.unwrap();
    assert!(db.abandoned_drafts(T0).await.unwrap().is_empty(), "nothing is older than its own creation");
    let mut late = document(abandoned, DocumentKind::HolderIdFront, "late.bin");
    late.uploaded_at = T0 + Duration::days(20);
    db.put_document(a, &late).await.unwrap();
    // Cut-off = now − retention: with the upload on day 20, a cut-off of day 1 finds nothing.
    assert!(db.abandoned_drafts(T0 + Duration::days(1)).await.unwrap().is_empty(), "an upload counts as activity");
    db.delete_document(a, abandoned, DocumentKind::HolderIdFront).await.unwrap();
    let stale = db.abandoned_drafts(T0 + Duration::days(21)).await.unwrap();
    assert_eq!(stale, vec![(a, abandoned, vec!["gone.bin".to_owned()])]);
}

/// 确认订单 and an order's pages look orders up by key, application, subject and id: each lookup
/// must read its own rows, not every pending order (SQLite only: its planner is the one the
/// default install runs, and it counts the steps each statement takes).
#[tokio::test]
async fn order_lookups_read_their_own_rows_however_many_orders_exist() {
    async fn lookups(
        db: &Db,
        owner: UserId,
        application: ApplicationId,
        id: domain::OrderId,
    ) -> Vec<(&'static str, u64)> {
        async fn counted<T>(lookup: impl std::future::Future<Output = T>) -> (T, u64) {
            let before = store::testing::sqlite_vm_steps();
            let out = lookup.await;
            (out, store::testing::sqlite_vm_steps() - before)
        }
        let (found, application_steps) = counted(db.application(owner, application)).await;
        assert!(found.unwrap().is_some());
        let (found, by_key) = counted(db.order_by_idempotency_key(owner, "mine")).await;
        assert!(found.unwrap().is_some());
        let (found, for_application) = counted(db.open_order_for_application(application)).await;
        assert!(found.unwrap().is_some());
        let (found, for_subject) = counted(db.open_order_for_subject("my-subject", Business::New)).await;
        assert!(found.unwrap().is_some());
        let (found, order) = counted(db.order(owner, id)).await;
        assert!(found.unwrap().is_some());
        let (events, events_steps) = counted(db.order_events(id)).await;
        assert_eq!(events.unwrap().len(), 1);
        let (summaries, summaries_steps) = counted(db.order_summaries(owner)).await;
        assert_eq!(summaries.unwrap().len(), 1);
        vec![
            ("application", application_steps),
            ("order_by_idempotency_key", by_key),
            ("open_order_for_application", for_application),
            ("open_order_for_subject", for_subject),
            ("order", order),
            ("order_events", events_steps),
            ("order_summaries", summaries_steps),
        ]
    }

    // The applicant's order is made after the others', so a lookup that walks the pending
    // orders in index order meets all of them first.
    async fn measured(others: u32) -> Vec<(&'static str, u64)> {
        let t = TestDb::sqlite().await;
        let db = &t.db;
        let other = user(db, 2).await;
        for n in 0..others {
            let theirs = draft(db, other).await;
            db.create_order(&new_order(other, theirs, &format!("k{n}"), &format!("s{n}")), T0).await.unwrap();
        }
        let owner = user(db, 1).await;
        let application = draft(db, owner).await;
        let id = db.create_order(&new_order(owner, application, "mine", "my-subject"), T0).await.unwrap();
        let steps = lookups(db, owner, application, id).await;
        t.finish().await;
        steps
    }

    let alone = measured(0).await;
    let crowded = measured(400).await;
    for ((name, alone), (_, crowded)) in alone.iter().zip(&crowded) {
        assert!(crowded <= &(alone + 40), "{name}: {alone} steps with one order, {crowded} with 401");
    }
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let t = TestDb::sqlite().await;
    t.db.migrate().await.unwrap();
    t.db.migrate().await.unwrap();
    t.finish().await;
}

async fn audit_rows_can_be_added_but_never_changed_or_removed(db: &Db) {
    use app::ports::{AuditEntry, AuditLog};
    let entry = AuditEntry {
        at: T0,
        staff_id: Some(domain::StaffId(1)),
        action: "document.view".into(),
        order_id: Some(domain::OrderId(7)),
        detail: "holder_id_front：核对身份".into(),
    };
    db.append_audit(&entry).await.unwrap();
    db.append_audit(&AuditEntry { action: "order.approve".into(), ..entry.clone() }).await.unwrap();
    for sql in [
        "UPDATE audit_log SET detail = 'nothing to see'",
        "DELETE FROM audit_log",
        "UPDATE audit_log SET staff_id = NULL WHERE action = 'document.view'",
    ] {
        let refused = db.execute_raw(sql).await;
        assert!(refused.is_err(), "{sql} must be refused");
    }
    let log = db.audit_log(Some(domain::OrderId(7)), 10).await.unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1], entry, "unchanged, oldest last");
}

async fn staff_accounts_sessions_and_totp_steps(db: &Db) {
    use app::ports::{NewStaff, StaffRepo, StaffSessionRecord};
    use domain::staff::{Role, Roles};
    let new = NewStaff {
        username: "wang.wu".into(),
        name: "王五".into(),
        phone: Some("13800138000".into()),
        password_hash: "$argon2id$fake".into(),
        roles: Roles::of(&[Role::Reviewer, Role::Admin]),
    };
    let id = db.create_staff(&new, T0).await.unwrap();
    let err = db.create_staff(&new, T0).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(Unique::StaffUsername)), "{err:?}");
    let stored = db.staff_by_username("wang.wu").await.unwrap().unwrap();
    assert_eq!((stored.id, stored.roles, stored.totp_enabled), (id, new.roles, false));
    db.set_staff_totp(id, Some("sealed"), true, T0).await.unwrap();
    assert!(db.staff_by_id(id).await.unwrap().unwrap().totp_enabled);
    assert!(db.use_totp_step(id, 100).await.unwrap());
    assert!(!db.use_totp_step(id, 100).await.unwrap(), "a step is used once");
    assert!(!db.use_totp_step(id, 99).await.unwrap(), "and never an older one");
    assert!(db.use_totp_step(id, 101).await.unwrap());
    let session = StaffSessionRecord {
        token_digest: "d1".into(),
        staff_id: id,
        stage: "password".into(),
        created_at: T0,
        last_seen_at: T0,
        expires_at: T0 + Duration::hours(8),
    };
    db.create_staff_session(&session).await.unwrap();
    assert_eq!(db.staff_session("d1").await.unwrap(), Some(session));
    db.delete_staff_session("d1").await.unwrap();
    assert_eq!(db.staff_session("d1").await.unwrap(), None);
    assert_eq!(db.list_staff().await.unwrap().len(), 1);
}

async fn a_review_decision_needs_the_claim_and_is_written_whole(db: &Db) {
    use app::ports::{AuditEntry, AuditLog, NewStaff, ReviewDecision, ReviewRepo, StaffRepo};
    use domain::staff::{Role, Roles};
    let staff = |name: &str| NewStaff {
        username: name.into(),
        name: name.into(),
        phone: None,
        password_hash: "x".into(),
        roles: Roles::of(&[Role::Reviewer]),
    };
    let (r1, r2) =
        (db.create_staff(&staff("rev.one"), T0).await.unwrap(), db.create_staff(&staff("rev.two"), T0).await.unwrap());
    let a = user(db, 1).await;
    let application = draft(db, a).await;
    let id = db.create_order(&new_order(a, application, "key-r", "subject-r"), T0).await.unwrap();
    assert!(!db.claim_order(id, r1, T0, T0).await.unwrap(), "not in review yet");
    assert!(
        db.transition_order(id, OrderStatus::PendingPayment, OrderStatus::UnderReview, Actor::PaymentGateway, None, T0)
            .await
            .unwrap()
    );
    assert_eq!(db.review_queue().await.unwrap().len(), 1);
    assert!(db.claim_order(id, r1, T0 - Duration::minutes(30), T0).await.unwrap());
    assert!(!db.claim_order(id, r2, T0 - Duration::minutes(30), T0).await.unwrap(), "held by the first reviewer");
    assert!(db.claim_order(id, r1, T0 - Duration::minutes(30), T0).await.unwrap(), "kept by its holder");
    let audit = |action: &str| AuditEntry {
        at: T0,
        staff_id: Some(r2),
        action: action.into(),
        order_id: Some(id),
        detail: String::new(),
    };
    let pins = vec![("license".to_owned(), "ab".repeat(32))];
    let approve = audit("order.approve");
    let decision = ReviewDecision {
        id,
        from: OrderStatus::UnderReview,
        to: OrderStatus::Processing,
        staff: r2,
        reason: Some("审核通过"),
        pins: &pins,
        audit: &approve,
        notify: &[],
    };
    assert!(!db.decide_review(&decision).await.unwrap(), "only the claim holder decides");
    assert!(
        db.review_pins(id).await.unwrap().is_empty() && db.audit_log(Some(id), 5).await.unwrap().is_empty(),
        "nothing half-written"
    );
    // A stale claim can be taken over.
    let later = T0 + Duration::minutes(31);
    assert!(db.claim_order(id, r2, later - Duration::minutes(30), later).await.unwrap());
    assert!(db.decide_review(&decision).await.unwrap());
    assert_eq!(db.order(a, id).await.unwrap().unwrap().status, OrderStatus::Processing);
    assert_eq!(db.review_pins(id).await.unwrap(), pins);
    assert_eq!(db.audit_log(Some(id), 5).await.unwrap().len(), 1);
    let events = db.order_events(id).await.unwrap();
    assert_eq!(
        (events.last().unwrap().actor, events.last().unwrap().reason.as_deref()),
        (Actor::Reviewer, Some("审核通过"))
    );
    assert_eq!(db.order_claim(id).await.unwrap(), None, "the claim is released");
    assert!(db.review_queue().await.unwrap().is_empty());
}

/// What the background jobs and /metrics read, whoever owns the orders: one order by id, the
/// count per state, and payments still pending from before a time, oldest first.
async fn jobs_see_any_order_count_them_by_state_and_find_stale_payments(db: &Db) {
    use app::ports::PaymentLedger;
    let a = user(db, 1).await;
    let b = user(db, 2).await;
    let first = db.create_order(&new_order(a, draft(db, a).await, "key-j1", "subject-j1"), T0).await.unwrap();
    let second = db.create_order(&new_order(b, draft(db, b).await, "key-j2", "subject-j2"), T0).await.unwrap();
    let third = db.create_order(&new_order(b, draft(db, b).await, "key-j3", "subject-j3"), T0).await.unwrap();
    assert!(
        db.transition_order(third, OrderStatus::PendingPayment, OrderStatus::Cancelled, Actor::Applicant, None, T0)
            .await
            .unwrap()
    );
    let any = db.order_by_id(second).await.unwrap().unwrap();
    assert_eq!((any.id, any.order.user_id, any.status), (second, b, OrderStatus::PendingPayment));
    assert!(db.order_by_id(domain::OrderId(999_999)).await.unwrap().is_none());
    let mut counts = db.order_counts().await.unwrap();
    counts.sort_by_key(|(status, _)| status.as_str());
    assert_eq!(counts, vec![(OrderStatus::Cancelled, 1), (OrderStatus::PendingPayment, 2)]);

    let total = Money::from_fen(41_500).unwrap();
    let old = db.open_payment(first, Channel::Alipay, "SDJ1A", total, T0).await.unwrap();
    let newer = db.open_payment(second, Channel::Cpcn, "SDJ2C", total, T0 + Duration::minutes(20)).await.unwrap();
    let settled = db.open_payment(first, Channel::Cpcn, "SDJ1C", total, T0).await.unwrap();
    db.settle_payment(settled.id, "TJ1", "网银支付成功", &[], T0).await.unwrap();
    let stale = |before| async move {
        db.pending_payments_before(before).await.unwrap().into_iter().map(|p| p.id).collect::<Vec<_>>()
    };
    assert_eq!(stale(T0 + Duration::minutes(10)).await, [old.id], "opened before, still pending");
    assert_eq!(stale(T0 + Duration::minutes(30)).await, [old.id, newer.id], "oldest first");
    assert!(db.close_payment(old.id, T0).await.unwrap());
    assert_eq!(stale(T0 + Duration::minutes(30)).await, [newer.id], "closed ones are done");
}

/// The admin's catalog: prices and whether a package is offered, the fees, pickup points added
/// and withdrawn; applicants see only what is offered, the admin sees everything.
async fn the_catalog_is_edited_and_only_what_is_offered_is_shown(db: &Db) {
    use app::ports::{CatalogRepo, PickupPoint};
    use domain::pricing::Fees;
    let seeded = db.catalog().await.unwrap();
    let all = db.all_packages().await.unwrap();
    assert_eq!(all.len(), seeded.packages.len(), "every seeded package is offered");
    let first = all[0].clone();
    let price = Money::from_fen(12_345).unwrap();
    assert!(db.set_package(first.id, price, false).await.unwrap());
    assert!(!db.set_package(domain::PackageId(999_999), price, true).await.unwrap(), "unknown package");
    let offered = db.catalog().await.unwrap();
    assert!(offered.packages.iter().all(|p| p.id != first.id), "withdrawn");
    let stored = db.all_packages().await.unwrap().into_iter().find(|p| p.id == first.id).unwrap();
    assert_eq!((stored.price, stored.active), (price, false));
    assert_eq!(
        db.all_packages().await.unwrap().iter().map(|p| p.id).collect::<Vec<_>>(),
        all.iter().map(|p| p.id).collect::<Vec<_>>(),
        "the same display order"
    );
    assert!(db.set_package(first.id, first.price, true).await.unwrap());
    assert_eq!(db.catalog().await.unwrap().packages, seeded.packages, "offered again as before");

    let fees = Fees {
        courier: Money::from_fen(1_800).unwrap(),
        pickup: Money::from_fen(0).unwrap(),
        service: Money::from_fen(5_000).unwrap(),
    };
    db.set_fees(&fees).await.unwrap();
    assert_eq!(db.catalog().await.unwrap().fees, fees);

    let point = PickupPoint {
        id: domain::PickupPointId(0),
        name: "福州服务网点".into(),
        address: "福州市鼓楼区五四路 1 号".into(),
        phone: "0591-00000000".into(),
        hours: "工作日 9:00-17:00".into(),
    };
    let id = db.save_pickup_point(&point, true).await.unwrap();
    let saved = PickupPoint { id, ..point.clone() };
    assert!(db.catalog().await.unwrap().pickup_points.contains(&saved));
    let moved = PickupPoint { address: "福州市鼓楼区五四路 2 号".into(), ..saved.clone() };
    assert_eq!(db.save_pickup_point(&moved, false).await.unwrap(), id, "updated in place");
    assert!(db.catalog().await.unwrap().pickup_points.iter().all(|p| p.id != id), "withdrawn");
    assert!(db.all_pickup_points().await.unwrap().contains(&(moved, false)));
}

/// An admin changes roles and disables an account (its sessions end); the holder replaces the
/// printed password (their other sessions end, this one stays); a session is kept alive.
async fn staff_roles_passwords_and_sessions_change_as_an_admin_and_the_holder_say(db: &Db) {
    use app::ports::{NewStaff, StaffRepo, StaffSessionRecord};
    use domain::staff::{Role, Roles};
    let new = NewStaff {
        username: "li.si".into(),
        name: "李四".into(),
        phone: None,
        password_hash: "$argon2id$printed".into(),
        roles: Roles::of(&[Role::Reviewer]),
    };
    let id = db.create_staff(&new, T0).await.unwrap();
    assert!(db.staff_by_id(id).await.unwrap().unwrap().must_change_password, "the printed password");
    let session = |digest: &str| StaffSessionRecord {
        token_digest: digest.into(),
        staff_id: id,
        stage: "full".into(),
        created_at: T0,
        last_seen_at: T0,
        expires_at: T0 + Duration::hours(8),
    };
    for digest in ["s1", "s2"] {
        db.create_staff_session(&session(digest)).await.unwrap();
    }
    db.touch_staff_session("s1", T0 + Duration::minutes(5)).await.unwrap();
    assert_eq!(db.staff_session("s1").await.unwrap().unwrap().last_seen_at, T0 + Duration::minutes(5));

    db.set_staff_password(id, "$argon2id$chosen", "s1", T0).await.unwrap();
    let stored = db.staff_by_id(id).await.unwrap().unwrap();
    assert_eq!((stored.password_hash.as_str(), stored.must_change_password), ("$argon2id$chosen", false));
    assert!(db.staff_session("s1").await.unwrap().is_some(), "the session that changed it stays");
    assert!(db.staff_session("s2").await.unwrap().is_none(), "every other one ends");

    let roles = Roles::of(&[Role::Fulfilment, Role::Finance]);
    assert!(db.update_staff(id, roles, false, T0).await.unwrap());
    let stored = db.staff_by_id(id).await.unwrap().unwrap();
    assert_eq!((stored.roles, stored.disabled), (roles, false));
    assert!(db.staff_session("s1").await.unwrap().is_some(), "a role change keeps the session");
    assert!(db.update_staff(id, roles, true, T0).await.unwrap());
    assert!(db.staff_by_id(id).await.unwrap().unwrap().disabled);
    assert!(db.staff_session("s1").await.unwrap().is_none(), "disabling ends every session");
    assert!(!db.update_staff(domain::StaffId(999_999), roles, false, T0).await.unwrap(), "unknown account");
}

/// The two-person rule on the store's side: a refund above the threshold waits, its requester
/// cannot approve it, a second person can (once), and a payment gets one refund request at most.
async fn a_large_refund_waits_for_a_second_person_and_is_asked_once(db: &Db) {
    use app::ports::{BillBook, NewStaff, PaymentLedger, RefundDesk, StaffRepo};
    use domain::payment::{PaymentStatus, RefundStatus};
    use domain::staff::{Role, Roles};
    let staff = |name: &str| NewStaff {
        username: name.into(),
        name: name.into(),
        phone: None,
        password_hash: "x".into(),
        roles: Roles::of(&[Role::Finance]),
    };
    let (f1, f2) =
        (db.create_staff(&staff("fin.one"), T0).await.unwrap(), db.create_staff(&staff("fin.two"), T0).await.unwrap());
    let a = user(db, 1).await;
    let application = draft(db, a).await;
    let total = Money::from_fen(41_500).unwrap();
    let order = db.create_order(&new_order(a, application, "key-rf1", "subject-rf1"), T0).await.unwrap();
    let p = db.open_payment(order, Channel::Alipay, "SDRF1A", total, T0).await.unwrap();
    db.settle_payment(p.id, "TRF1", "支付宝支付成功", &[], T0).await.unwrap();

    let paid = db.payments_of_order(order).await.unwrap();
    assert_eq!((paid.len(), paid[0].id, paid[0].status), (1, p.id, PaymentStatus::Paid));
    let hour = Duration::hours(1);
    assert_eq!(db.payments_paid_between(Channel::Alipay, T0 - hour, T0 + hour).await.unwrap().len(), 1);
    assert!(db.payments_paid_between(Channel::Cpcn, T0 - hour, T0 + hour).await.unwrap().is_empty(), "per channel");
    assert!(db.payments_paid_between(Channel::Alipay, T0 + hour, T0 + hour * 2).await.unwrap().is_empty(), "per day");

    let refund = db.request_refund(p.id, "客户申请退款", f1, true, T0).await.unwrap();
    assert_eq!(
        (refund.status, refund.requested_by, refund.amount, refund.order_id),
        (RefundStatus::AwaitingApproval, Some(f1), total, order)
    );
    let again = db.request_refund(p.id, "再次申请", f2, false, T0).await.unwrap_err();
    assert!(matches!(again, StoreError::Duplicate(Unique::RefundOfPayment)), "{again:?}");
    assert_eq!(db.refunds_awaiting_approval().await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), [refund.id]);
    assert!(db.pending_refunds(T0).await.unwrap().is_empty(), "not sent to the gateway before approval");

    assert!(!db.approve_refund(refund.id, f1).await.unwrap(), "the requester cannot approve their own refund");
    assert!(db.approve_refund(refund.id, f2).await.unwrap());
    assert!(!db.approve_refund(refund.id, f2).await.unwrap(), "approved once");
    assert!(db.refunds_awaiting_approval().await.unwrap().is_empty());
    let due = db.pending_refunds(T0).await.unwrap();
    assert_eq!((due.len(), due[0].id, due[0].status), (1, refund.id, RefundStatus::Pending));

    // Below the threshold a refund goes to the gateway at once.
    let small = db.create_order(&new_order(a, application, "key-rf2", "subject-rf2"), T0).await.unwrap();
    let q = db.open_payment(small, Channel::Cpcn, "SDRF2C", total, T0).await.unwrap();
    db.settle_payment(q.id, "TRF2", "网银支付成功", &[], T0).await.unwrap();
    let direct = db.request_refund(q.id, "重复付款", f1, false, T0).await.unwrap();
    assert_eq!(direct.status, RefundStatus::Pending);
    assert!(!db.approve_refund(direct.id, f2).await.unwrap(), "nothing to approve");
    assert_eq!(db.pending_refunds(T0).await.unwrap().len(), 2);
}

/// The automatic daily bill check: one instance holds a day's claim; a claim older than its lease
/// is taken over; a released claim can be taken again; a finished check is never taken again.
async fn a_days_bill_is_checked_by_one_instance_and_taken_over_after_its_lease(db: &Db) {
    use app::ports::{BillBook, BillCheck};
    let day = time::macros::date!(2026 - 11 - 24);
    let lease = Duration::minutes(10);
    assert!(db.claim_bill_check(Channel::Alipay, day, T0, lease).await.unwrap());
    assert!(!db.claim_bill_check(Channel::Alipay, day, T0 + Duration::minutes(1), lease).await.unwrap(), "held");
    assert!(db.claim_bill_check(Channel::Cpcn, day, T0, lease).await.unwrap(), "per channel");
    assert!(db.claim_bill_check(Channel::Alipay, day + Duration::days(1), T0, lease).await.unwrap(), "per day");
    assert!(db.claim_bill_check(Channel::Alipay, day, T0 + Duration::minutes(11), lease).await.unwrap(), "taken over");
    db.release_bill_check(Channel::Alipay, day).await.unwrap();
    assert!(db.claim_bill_check(Channel::Alipay, day, T0 + Duration::minutes(12), lease).await.unwrap(), "released");
    let check = BillCheck {
        channel: Channel::Alipay,
        day,
        checked_by: None,
        checked_at: T0 + Duration::minutes(13),
        differences: 2,
    };
    db.record_bill_check(&check).await.unwrap();
    assert!(!db.claim_bill_check(Channel::Alipay, day, T0 + Duration::hours(5), lease).await.unwrap(), "done is done");
    let uploaded = BillCheck { channel: Channel::Cpcn, day, checked_by: Some(domain::StaffId(7)), ..check.clone() };
    db.record_bill_check(&uploaded).await.unwrap();
    let checks = db.bill_checks(10).await.unwrap();
    assert_eq!(checks.len(), 2, "{checks:?}");
    assert!(checks.contains(&check) && checks.contains(&uploaded), "{checks:?}");
    assert_eq!(db.bill_checks(1).await.unwrap().len(), 1, "limited");
}

/// Every notification a gateway sends is logged, found by trade number, newest first; those that
/// failed verification are counted for the alert.
async fn gateway_notices_are_logged_and_the_refused_ones_counted(db: &Db) {
    use app::ports::{NoticeLog, PaymentJournal};
    let notice = |n: i64, verified: bool, trade: Option<&str>| NoticeLog {
        channel: Channel::Alipay,
        verified,
        out_trade_no: trade.map(str::to_owned),
        outcome: if verified { "applied".into() } else { "bad_signature".into() },
        summary: format!("notify_id=n{n}"),
        received_at: T0 + Duration::minutes(n),
    };
    db.log_notice(&notice(1, true, Some("SDN1A"))).await.unwrap();
    db.log_notice(&notice(2, false, Some("SDN1A"))).await.unwrap();
    db.log_notice(&notice(3, false, None)).await.unwrap();
    db.log_notice(&notice(4, true, Some("SDN2A"))).await.unwrap();
    let of_trade = db.notices(Some("SDN1A"), 10).await.unwrap();
    assert_eq!(of_trade, vec![notice(2, false, Some("SDN1A")), notice(1, true, Some("SDN1A"))], "newest first");
    let all = db.notices(None, 3).await.unwrap();
    assert_eq!(
        all.iter().map(|n| n.summary.as_str()).collect::<Vec<_>>(),
        ["notify_id=n4", "notify_id=n3", "notify_id=n2"]
    );
    assert_eq!(db.refused_notices_since(T0).await.unwrap(), 2);
    assert_eq!(db.refused_notices_since(T0 + Duration::minutes(3)).await.unwrap(), 1, "since, inclusive");
    assert_eq!(db.refused_notices_since(T0 + Duration::minutes(5)).await.unwrap(), 0);
}

async fn a_payment_settles_once_and_a_late_one_owes_one_refund(db: &Db) {
    use app::ports::{BillBook, PaymentJournal, PaymentLedger, RefundDesk, Settlement};
    use domain::payment::{PaymentStatus, RefundStatus};
    let a = user(db, 1).await;
    let application = draft(db, a).await;
    let paid = db.create_order(&new_order(a, application, "key-p1", "subject-p1"), T0).await.unwrap();
    let total = Money::from_fen(41_500).unwrap();
    let p = db.open_payment(paid, Channel::Alipay, "SDP1A", total, T0).await.unwrap();
    assert_eq!(
        db.open_payment(paid, Channel::Alipay, "SDP1A", total, T0).await.unwrap(),
        p,
        "one trade per order and channel"
    );
    assert_eq!(db.settle_payment(p.id, "T1", "支付宝支付成功", &[], T0).await.unwrap(), Settlement::Applied);
    assert_eq!(db.settle_payment(p.id, "T1", "支付宝支付成功", &[], T0).await.unwrap(), Settlement::AlreadySettled);
    assert_eq!(db.order(a, paid).await.unwrap().unwrap().status, OrderStatus::UnderReview);
    assert_eq!(db.payment_by_trade("SDP1A").await.unwrap().unwrap().status, PaymentStatus::Paid);

    let cancelled = db.create_order(&new_order(a, application, "key-p2", "subject-p2"), T0).await.unwrap();
    let q = db.open_payment(cancelled, Channel::Alipay, "SDP2A", total, T0).await.unwrap();
    assert!(db.close_payment(q.id, T0).await.unwrap());
    assert!(
        db.transition_order(cancelled, OrderStatus::PendingPayment, OrderStatus::Cancelled, Actor::Applicant, None, T0)
            .await
            .unwrap()
    );
    let Settlement::RefundOwed(refund) = db.settle_payment(q.id, "T2", "支付宝支付成功", &[], T0).await.unwrap()
    else {
        panic!("a payment for a cancelled order is owed back");
    };
    assert_eq!(
        (refund.out_request_no.as_str(), refund.amount, refund.status),
        ("SDP2AR1", total, RefundStatus::Pending)
    );
    assert_eq!(db.settle_payment(q.id, "T2", "", &[], T0).await.unwrap(), Settlement::AlreadySettled, "owed once");
    assert_eq!(db.pending_refunds(T0).await.unwrap().len(), 1);
    // Refused by the gateway: tried again when due, then failed for finance to resolve.
    let minute = time::Duration::minutes(1);
    assert!(db.refund_attempt_failed(refund.id, "ACQ.TRADE_STATUS_ERROR", Some(T0 + minute)).await.unwrap());
    assert!(db.pending_refunds(T0).await.unwrap().is_empty(), "not due yet");
    let due = db.pending_refunds(T0 + minute).await.unwrap();
    assert_eq!((due.len(), due[0].attempts, due[0].last_error.as_deref()), (1, 1, Some("ACQ.TRADE_STATUS_ERROR")));
    assert!(db.refund_attempt_failed(refund.id, "ACQ.TRADE_STATUS_ERROR", None).await.unwrap());
    assert!(!db.refund_attempt_failed(refund.id, "again", None).await.unwrap(), "only a pending refund fails");
    assert!(db.pending_refunds(T0 + minute * 10_000).await.unwrap().is_empty(), "never retried by itself");
    let failed = db.failed_refunds().await.unwrap();
    assert_eq!((failed.len(), failed[0].status, failed[0].attempts), (1, RefundStatus::Failed, 2));
    assert!(db.retry_refund(refund.id).await.unwrap());
    assert!(!db.retry_refund(refund.id).await.unwrap(), "only a failed refund is retried");
    assert_eq!(db.pending_refunds(T0).await.unwrap()[0].attempts, 0, "due at once, counted anew");
    assert!(db.refund_attempt_failed(refund.id, "ACQ.TRADE_STATUS_ERROR", None).await.unwrap());
    // Settled another way: done, with how.
    assert!(db.finish_refund(refund.id, Some("银行转账，凭证 2026120100017"), &[], T0).await.unwrap());
    assert!(!db.finish_refund(refund.id, None, &[], T0).await.unwrap());
    assert!(db.failed_refunds().await.unwrap().is_empty());
    // The takings report sees the money come and go.
    let hour = time::Duration::hours(1);
    let moves = db.money_movements(T0 - hour, T0 + hour).await.unwrap();
    let late: Vec<_> = moves.iter().filter(|m| m.out_trade_no == "SDP2A").map(|m| (m.refund, m.amount)).collect();
    assert_eq!(late, [(false, total), (true, total)], "received, then refunded: {moves:?}");
    assert_eq!(moves.len(), 3, "and the first order's payment");
    assert!(moves.iter().all(|m| !m.order_no.is_empty() && m.channel == Channel::Alipay), "{moves:?}");
    assert!(db.money_movements(T0 + hour, T0 + hour * 2).await.unwrap().is_empty());
    let refunds = db.refunds_of_order(cancelled).await.unwrap();
    assert_eq!(
        (refunds[0].status, refunds[0].resolution.as_deref()),
        (RefundStatus::Done, Some("银行转账，凭证 2026120100017"))
    );
    assert_eq!(db.order(a, cancelled).await.unwrap().unwrap().status, OrderStatus::Refunded);
    assert!(db.pending_refunds(T0).await.unwrap().is_empty());
    let alerts = db.finance_alerts(10).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert!(db.resolve_finance_alert(alerts[0].id, domain::StaffId(7), "已核实", T0).await.unwrap());
    assert!(!db.resolve_finance_alert(alerts[0].id, domain::StaffId(7), "again", T0).await.unwrap(), "once");
    assert_eq!(db.finance_alerts(10).await.unwrap()[0].resolution.as_deref(), Some("已核实"));
}

async fn nothing_ships_without_a_recorded_key_and_each_step_is_written_whole(db: &Db) {
    use app::ports::{Dispatch, DispatchChange, FulfilmentRepo};
    use domain::fulfilment::KeyDraft;
    let a = user(db, 1).await;
    let application = draft(db, a).await;
    let id = db.create_order(&new_order(a, application, "key-f", "subject-f"), T0).await.unwrap();
    let key = KeyDraft {
        key_type: "main".into(),
        serial: "4A3F001B9C77".into(),
        valid_from: "2026-11-26".into(),
        valid_to: "2027-11-25".into(),
    }
    .validate()
    .unwrap();
    assert!(!db.save_key(id, &key, domain::StaffId(1), T0).await.unwrap(), "only while 待处理");
    for (from, to, actor) in [
        (OrderStatus::PendingPayment, OrderStatus::UnderReview, Actor::PaymentGateway),
        (OrderStatus::UnderReview, OrderStatus::Processing, Actor::Reviewer),
    ] {
        assert!(db.transition_order(id, from, to, actor, None, T0).await.unwrap());
    }
    let ship = Dispatch {
        id,
        from: OrderStatus::Processing,
        to: OrderStatus::Delivering,
        actor: Actor::Fulfilment,
        reason: "已发货",
        change: DispatchChange::Shipped { courier: "顺丰速运".into(), tracking_no: "SF1234567890".into() },
        audit: None,
        notify: &[],
        now: T0,
    };
    assert!(!db.dispatch(&ship).await.unwrap(), "no key, no shipment");
    assert_eq!(db.order(a, id).await.unwrap().unwrap().status, OrderStatus::Processing, "rolled back");
    assert!(db.save_key(id, &key, domain::StaffId(1), T0).await.unwrap());
    assert_eq!(db.fulfilment_queue().await.unwrap().len(), 1);
    assert!(db.dispatch(&ship).await.unwrap());
    assert!(!db.dispatch(&ship).await.unwrap(), "once");
    let stored = db.fulfilment(id).await.unwrap().unwrap();
    assert_eq!((stored.key, stored.tracking_no.as_deref(), stored.shipped_at), (key, Some("SF1234567890"), Some(T0)));
    assert!(db.shipped_before(T0).await.unwrap().is_empty());
    assert_eq!(db.shipped_before(T0 + Duration::seconds(1)).await.unwrap(), vec![id]);
    assert!(db.fulfilment_queue().await.unwrap().is_empty(), "couriered orders leave the list once shipped");
}

async fn notifications_are_queued_once_and_leased_to_one_worker(db: &Db) {
    use app::ports::{NewNotification, NotificationRepo};
    let message = |n: usize| NewNotification {
        dedupe_key: format!("order:{n}:paid:sms"),
        channel: "sms".into(),
        recipient: "13800138000".into(),
        subject: String::new(),
        body: format!("message {n}"),
        html: None,
        attachments: None,
    };
    let batch: Vec<_> = (0..10).map(message).collect();
    db.enqueue_notifications(&batch, T0).await.unwrap();
    db.enqueue_notifications(&batch, T0).await.unwrap();
    assert_eq!(db.notifications(100).await.unwrap().len(), 10, "one row per key");
    // Two workers at once: disjoint leases.
    let (a, b) = tokio::join!(
        db.claim_notifications(T0, Duration::minutes(5), 6),
        db.claim_notifications(T0, Duration::minutes(5), 6)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut ids: Vec<_> = a.iter().chain(&b).map(|m| m.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), a.len() + b.len(), "no message leased twice");
    assert_eq!(a.len() + b.len(), 10);
    assert!(db.claim_notifications(T0, Duration::minutes(5), 10).await.unwrap().is_empty(), "all leased");
    db.notification_sent(a[0].id, T0).await.unwrap();
    db.notification_failed(a[1].id, "relay down", Some(T0 + Duration::minutes(1))).await.unwrap();
    db.notification_failed(a[2].id, "gave up", None).await.unwrap();
    // After the lease, what was neither sent nor given up is due again.
    let later = db.claim_notifications(T0 + Duration::minutes(6), Duration::minutes(5), 20).await.unwrap();
    assert_eq!(later.len(), 8, "{later:?}");
    assert!(later.iter().all(|m| m.attempts == 2));
    let statuses: Vec<String> = db.notifications(100).await.unwrap().into_iter().map(|m| m.status).collect();
    assert_eq!(statuses.iter().filter(|s| *s == "sent").count(), 1);
    assert_eq!(statuses.iter().filter(|s| *s == "failed").count(), 1);
}

async fn a_closed_account_keeps_only_its_orders(db: &Db) {
    use app::ports::{AddressRepo, ApplicationBook, DocumentRepo, OrderBook, OrderRepo, UserDirectory, UserRepo};
    // With an order: restricted — drafts (and their documents' keys), addresses, sessions go.
    let a = user(db, 1).await;
    db.create_session(&session("closing", a, T0)).await.unwrap();
    db.create_address(a, &address("科技园一路1号", false), 20, T0).await.unwrap().unwrap();
    let ordered = draft(db, a).await;
    db.put_document(a, &document(ordered, DocumentKind::License, "kept.bin")).await.unwrap();
    let order = db.create_order(&new_order(a, ordered, "key-1", "subject-1"), T0).await.unwrap();
    let until = T0 + Duration::days(365 * 6);
    assert!(
        matches!(
            db.close_user(a, "closed:1:abc", Some(until), T0).await,
            Err(StoreError::Refused(Refusal::OrdersUnderWay))
        ),
        "an order under way blocks closing, checked in the transaction"
    );
    assert!(
        db.transition_order(order, OrderStatus::PendingPayment, OrderStatus::Cancelled, Actor::Applicant, None, T0)
            .await
            .unwrap()
    );
    let unordered = draft(db, a).await;
    db.put_document(a, &document(unordered, DocumentKind::License, "gone.bin")).await.unwrap();
    let keys = db.close_user(a, "closed:1:abc", Some(until), T0).await.unwrap();
    assert_eq!(keys, ["gone.bin"]);
    assert!(db.user_by_phone(&phone(1)).await.unwrap().is_none(), "the number is free");
    assert!(db.user_by_id(a).await.unwrap().is_none(), "a closed account is nobody (no messages)");
    assert!(db.session_with_user("closing").await.unwrap().is_none(), "nor signed in");
    assert!(db.list_addresses(a).await.unwrap().is_empty());
    let left: Vec<_> = db.applications(a).await.unwrap().into_iter().map(|x| x.id).collect();
    assert_eq!(left, [ordered]);
    assert!(db.order(a, order).await.unwrap().is_some(), "the order is kept");
    assert!(db.referenced_file_keys().await.unwrap().contains("kept.bin"));
    db.create_user(&phone(1), "hash", T0).await.unwrap();
    // Without orders: everything goes.
    let b = user(db, 2).await;
    let only = draft(db, b).await;
    db.put_document(b, &document(only, DocumentKind::License, "b.bin")).await.unwrap();
    assert_eq!(db.close_user(b, "closed:2:def", None, T0).await.unwrap(), ["b.bin"]);
    assert!(db.user_by_id(b).await.unwrap().is_none());
    assert!(!db.referenced_file_keys().await.unwrap().contains("b.bin"));
}

async fn orders_are_found_by_number_phone_name_subject_trade_day_and_state(db: &Db) {
    use app::ports::{OrderSearch, PaymentLedger};
    let a = user(db, 1).await;
    let b = user(db, 2).await;
    let first = db.create_order(&new_order(a, draft(db, a).await, "k1", "idx-1"), T0).await.unwrap();
    let mut other = new_order(b, draft(db, b).await, "k2", "idx-2");
    other.subject_name = "100%_纯\\净水厂".into();
    let second = db.create_order(&other, T0 + Duration::days(2)).await.unwrap();
    let p = db.open_payment(second, Channel::Alipay, "SDQ2A", Money::from_fen(41_500).unwrap(), T0).await.unwrap();
    db.settle_payment(p.id, "2026112522001", "支付宝支付成功", &[], T0).await.unwrap();

    let found = |search: OrderSearch| async move {
        db.search_orders(&search, 10).await.unwrap().into_iter().map(|o| o.id).collect::<Vec<_>>()
    };
    let text = |t: &str| OrderSearch { text: Some(t.into()), ..OrderSearch::default() };
    assert_eq!(found(OrderSearch::default()).await, vec![second, first], "newest first");
    assert_eq!(found(text("SD-k1-idx-1")).await, vec![first], "order number");
    assert_eq!(found(text(phone(2).as_str())).await, vec![second], "the account's phone");
    assert_eq!(found(text("SDQ2A")).await, vec![second], "our trade number");
    assert_eq!(found(text("2026112522001")).await, vec![second], "the gateway's trade number");
    assert_eq!(found(text("示例科技")).await, vec![first], "part of the name");
    assert_eq!(found(text("100%_纯\\")).await, vec![second], "LIKE wildcards are literal");
    assert_eq!(found(text("%")).await, vec![second], "a % is a percent sign, not any text");
    assert_eq!(found(text("科_")).await, Vec::<domain::OrderId>::new(), "an _ is an underscore, not any character");
    let by_index = OrderSearch { subject_indexes: vec!["idx-x".into(), "idx-1".into()], ..text("91350100M000100Y43") };
    assert_eq!(found(by_index).await, vec![first], "the subject's index");
    assert!(found(text("SD-k1")).await.is_empty(), "numbers match whole, not in part");
    let day =
        OrderSearch { from: Some(T0 + Duration::days(1)), to: Some(T0 + Duration::days(3)), ..Default::default() };
    assert_eq!(found(day).await, vec![second], "placed in the range");
    let state = OrderSearch { status: Some(OrderStatus::UnderReview), ..OrderSearch::default() };
    assert_eq!(found(state).await, vec![second], "by state");
    let both = OrderSearch { status: Some(OrderStatus::UnderReview), ..text("SD-k1-idx-1") };
    assert!(found(both).await.is_empty(), "every criterion holds");
    assert_eq!(db.search_orders(&OrderSearch::default(), 1).await.unwrap().len(), 1, "at most the limit");
}

async fn an_invoice_keeps_its_files_and_is_voided_once_by_a_red_letter_invoice(db: &Db) {
    use app::ports::{DocumentRepo, InvoiceBook, InvoiceFile, InvoiceRecord, InvoiceRepo, RedInvoice};
    use domain::invoice::InvoiceFormat;
    let a = user(db, 1).await;
    let order = db.create_order(&new_order(a, draft(db, a).await, "k1", "idx-1"), T0).await.unwrap();
    let file = |red: bool, format: InvoiceFormat, key: &str| InvoiceFile {
        red,
        format,
        file_key: key.into(),
        wrapped_key: "wrapped".into(),
        sha256: "00".into(),
        size: 10,
    };
    let mut invoice = InvoiceRecord {
        order_id: order,
        invoice_no: "24442000000012345678".into(),
        issued_by: Some(domain::StaffId(7)),
        issued_at: T0,
        sent_count: 0,
        red: None,
        files: vec![file(false, InvoiceFormat::Pdf, "old-pdf")],
    };
    assert!(db.save_invoice(&invoice).await.unwrap());
    invoice.files = vec![file(false, InvoiceFormat::Pdf, "inv-pdf"), file(false, InvoiceFormat::Xml, "inv-xml")];
    assert!(db.save_invoice(&invoice).await.unwrap(), "replaced, files and all");
    assert_eq!(db.invoice(order).await.unwrap().unwrap(), invoice);
    assert!(db.red_invoice_queue().await.unwrap().is_empty(), "not refunded");

    for (from, to) in
        [(OrderStatus::PendingPayment, OrderStatus::UnderReview), (OrderStatus::UnderReview, OrderStatus::Refunded)]
    {
        assert!(db.transition_order(order, from, to, Actor::Finance, None, T0).await.unwrap());
    }
    assert_eq!(db.red_invoice_queue().await.unwrap().iter().map(|o| o.id).collect::<Vec<_>>(), vec![order]);
    let red = RedInvoice {
        invoice_no: "24442000000099999999".into(),
        issued_by: Some(domain::StaffId(8)),
        issued_at: T0 + Duration::hours(1),
    };
    assert!(db.save_red_invoice(order, &red, &[file(false, InvoiceFormat::Pdf, "red-pdf")]).await.unwrap());
    assert!(
        !db.save_red_invoice(order, &red, &[file(true, InvoiceFormat::Pdf, "red-2")]).await.unwrap(),
        "voided once"
    );
    assert!(!db.save_invoice(&invoice).await.unwrap(), "a voided invoice stays as it is");
    let stored = db.invoice(order).await.unwrap().unwrap();
    assert_eq!(stored.red, Some(red));
    assert_eq!(stored.formats(false), vec![InvoiceFormat::Pdf, InvoiceFormat::Xml]);
    assert_eq!(stored.file(true, InvoiceFormat::Pdf).map(|f| f.file_key.as_str()), Some("red-pdf"), "stored as red");
    assert!(db.red_invoice_queue().await.unwrap().is_empty());
    let keys = db.referenced_file_keys().await.unwrap();
    assert!(["inv-pdf", "inv-xml", "red-pdf"].iter().all(|k| keys.contains(*k)), "{keys:?}");
    assert!(!keys.contains("old-pdf"), "a replaced file is no longer referenced");
    assert!(
        db.save_red_invoice(domain::OrderId(order.0 + 100), &red_again(), &[]).await.is_ok_and(|v| !v),
        "no invoice"
    );
}

fn red_again() -> app::ports::RedInvoice {
    app::ports::RedInvoice { invoice_no: "1".repeat(20), issued_by: None, issued_at: T0 }
}

async fn a_photo_is_read_by_one_worker_and_a_newer_upload_wins(db: &Db) {
    use app::ports::ReadingRepo;
    let a = user(db, 1).await;
    let application = draft(db, a).await;
    let lease = Duration::minutes(2);
    db.set_reading(application, DocumentKind::License, Some("reading-of-an-older-photo"), T0).await.unwrap();
    db.enqueue_reading(a, application, DocumentKind::License, T0).await.unwrap();
    assert!(db.readings(application).await.unwrap().is_empty(), "a new photo's old reading is gone at once");
    let jobs = db.claim_readings(T0, lease, 3, 10).await.unwrap();
    assert_eq!(
        jobs.iter().map(|j| (j.user, j.kind.as_str(), j.version, j.attempts)).collect::<Vec<_>>(),
        [(a, "license", 1, 1)]
    );
    assert!(db.claim_readings(T0, lease, 3, 10).await.unwrap().is_empty(), "leased to one worker");

    // Uploaded again while the first photo is being read: that reading is dropped.
    db.enqueue_reading(a, application, DocumentKind::License, T0 + Duration::seconds(5)).await.unwrap();
    assert!(!db.finish_reading(&jobs[0], Ok("sealed-old"), T0).await.unwrap());
    assert!(db.readings(application).await.unwrap().is_empty());
    let newer = db.claim_readings(T0, lease, 3, 10).await.unwrap();
    assert_eq!(newer.iter().map(|j| j.version).collect::<Vec<_>>(), [2]);
    assert!(db.finish_reading(&newer[0], Ok("sealed-new"), T0).await.unwrap());
    assert!(!db.finish_reading(&newer[0], Ok("again"), T0).await.unwrap(), "finished once");
    assert_eq!(db.readings(application).await.unwrap(), [(DocumentKind::License, "sealed-new".to_owned())]);

    // A worker that dies: its lease runs out and another takes the job, up to the attempts.
    db.enqueue_reading(a, application, DocumentKind::HolderIdFront, T0).await.unwrap();
    for attempt in 1..=3 {
        let at = T0 + lease * (attempt - 1) + Duration::seconds(i64::from(attempt - 1));
        let taken = db.claim_readings(at, lease, 3, 10).await.unwrap();
        assert_eq!(taken.iter().map(|j| j.attempts).collect::<Vec<_>>(), [i64::from(attempt)], "attempt {attempt}");
    }
    assert!(db.claim_readings(T0 + lease * 4, lease, 3, 10).await.unwrap().is_empty());
    let states = db.reading_states(application).await.unwrap();
    let gave_up = states.iter().find(|s| s.kind == DocumentKind::HolderIdFront).unwrap();
    assert_eq!((gave_up.status.as_str(), gave_up.error.as_deref()), ("failed", Some("ocr_timeout")));
    let done = states.iter().find(|s| s.kind == DocumentKind::License).unwrap();
    assert_eq!(done.status, "done");

    // A photo that cannot be read says so; a deleted document takes its job with it.
    db.enqueue_reading(a, application, DocumentKind::HolderIdBack, T0).await.unwrap();
    let job = db.claim_readings(T0, lease, 3, 10).await.unwrap().remove(0);
    assert!(db.finish_reading(&job, Err("ocr_failed"), T0).await.unwrap());
    db.set_reading(application, DocumentKind::License, None, T0).await.unwrap();
    // Per field, kept or corrected: reported again only when it changes.
    let outcomes = [("credit_code", "accepted"), ("company_name", "corrected")];
    assert_eq!(db.set_field_sources(application, &outcomes, T0).await.unwrap(), ["credit_code", "company_name"]);
    assert!(db.set_field_sources(application, &outcomes, T0).await.unwrap().is_empty(), "counted once");
    assert_eq!(db.set_field_sources(application, &[("company_name", "accepted")], T0).await.unwrap(), ["company_name"]);
    assert_eq!(
        db.field_sources(application).await.unwrap(),
        [("company_name".to_owned(), "accepted".to_owned()), ("credit_code".to_owned(), "accepted".to_owned())]
    );
    let states = db.reading_states(application).await.unwrap();
    assert_eq!(
        states.iter().map(|s| (s.kind.as_str(), s.status.as_str(), s.error.as_deref())).collect::<Vec<_>>(),
        [("holder_id_back", "failed", Some("ocr_failed")), ("holder_id_front", "failed", Some("ocr_timeout"))]
    );
}

async fn a_sweep_runs_on_one_instance_per_period(db: &Db) {
    let period = Duration::seconds(55);
    assert!(db.take_lease("orders.auto_cancel", "instance-a", T0, period).await.unwrap());
    assert!(!db.take_lease("orders.auto_cancel", "instance-b", T0 + Duration::seconds(10), period).await.unwrap());
    assert!(
        !db.take_lease("orders.auto_cancel", "instance-a", T0 + Duration::seconds(20), period).await.unwrap(),
        "once per period, for the holder too"
    );
    assert!(db.take_lease("files.sweep", "instance-b", T0, period).await.unwrap(), "each sweep has its own lease");
    // The holder died: when its period runs out, another instance takes the sweep.
    assert!(db.take_lease("orders.auto_cancel", "instance-b", T0 + period, period).await.unwrap());
}

async fn a_registration_code_is_used_only_with_the_account_it_creates(db: &Db) {
    let (taken, free) = (phone(1), phone(2));
    user(db, 1).await;
    db.insert_sms_code(&code(&taken, "mac-1", T0)).await.unwrap();
    let id = db.active_sms_code(&taken, SmsPurpose::Register, T0).await.unwrap().unwrap().id;
    let err = db.create_user_with_code(&taken, "hash", id, T0).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(Unique::UserPhone)), "{err:?}");
    assert!(db.active_sms_code(&taken, SmsPurpose::Register, T0).await.unwrap().is_some(), "the code is not used up");

    db.insert_sms_code(&code(&free, "mac-2", T0)).await.unwrap();
    let id = db.active_sms_code(&free, SmsPurpose::Register, T0).await.unwrap().unwrap().id;
    let created = db.create_user_with_code(&free, "hash", id, T0).await.unwrap();
    assert!(created.is_some() && db.user_by_phone(&free).await.unwrap().is_some());
    assert!(db.active_sms_code(&free, SmsPurpose::Register, T0).await.unwrap().is_none(), "used with it");
    assert_eq!(db.create_user_with_code(&free, "hash", id, T0).await.unwrap(), None, "a used code creates nothing");
}

fn certificate(order: domain::OrderId, user: UserId, serial: &str) -> app::ports::CertificateRecord {
    app::ports::CertificateRecord {
        serial: serial.into(),
        algorithm: domain::certificate::KeyAlgorithm::Sm2,
        order_id: order,
        user_id: user,
        subject: "CN=示例科技有限公司, organizationIdentifier=NTRCN-91350100M000100Y43, O=示例科技有限公司, C=CN"
            .into(),
        issuer: "CN=Issuing CA".into(),
        credit_code: Some("91350100M000100Y43".into()),
        fingerprint: "AB".repeat(32),
        not_before: T0,
        not_after: T0 + Duration::days(365),
        der: vec![0x30, 0x82, 0x00, 0xFF, 0x00],
        issued_by: Some(domain::StaffId(7)),
        issued_at: T0,
        replaces_serial: None,
        revocation: None,
    }
}

async fn a_certificate_is_recorded_with_its_order_once_and_revoked_once(db: &Db) {
    use app::ports::{
        AuditEntry, AuditLog, CertificateRepo, FulfilmentRepo, IssuedForOrder, KeyPinBook, KeyPins, OrderBook,
        OrderRepo, Revocation,
    };
    use domain::certificate::RevocationReason;
    use domain::pricing::KeyType;
    let a = user(db, 1).await;
    let application = draft(db, a).await;
    let id = db.create_order(&new_order(a, application, "key-1", "subject-1"), T0).await.unwrap();
    let audit = |action: &str| AuditEntry {
        at: T0,
        staff_id: Some(domain::StaffId(7)),
        action: action.into(),
        order_id: Some(id),
        detail: String::new(),
    };
    let pins = KeyPins {
        order_id: id,
        token_serial: "ecbab463db7fd3d1".into(),
        user_pin_sealed: "sealed-user".into(),
        so_pin_sealed: "sealed-so".into(),
        stored_at: T0,
    };
    let first = certificate(id, a, "01AB");
    let issued = audit("certificate.issued");
    let write = |c| IssuedForOrder { certificate: c, key_type: KeyType::Main, pins: &pins, audit: &issued };
    assert!(!db.record_issued(&write(&first)).await.unwrap(), "an unpaid order gets no certificate");
    assert!(db.certificate("01AB").await.unwrap().is_none(), "and nothing of it is written");
    for (from, to) in
        [(OrderStatus::PendingPayment, OrderStatus::UnderReview), (OrderStatus::UnderReview, OrderStatus::Processing)]
    {
        assert!(db.transition_order(id, from, to, Actor::System, None, T0).await.unwrap());
    }
    assert!(db.record_issued(&write(&first)).await.unwrap());
    assert_eq!(db.certificate("01AB").await.unwrap().unwrap(), first, "stored as issued, DER included");
    let key = db.fulfilment(id).await.unwrap().unwrap().key;
    assert_eq!((key.serial.as_str(), key.key_type), ("01AB", KeyType::Main), "the order can now be shipped");
    assert_eq!(db.key_pins(id).await.unwrap(), Some(pins.clone()));
    let history = db.order_events(id).await.unwrap();
    assert!(history.last().unwrap().reason.as_deref().unwrap().contains("01AB"));
    assert_eq!(db.audit_log(Some(id), 10).await.unwrap()[0].action, "certificate.issued");
    let second = certificate(id, a, "02CD");
    assert!(!db.record_issued(&write(&second)).await.unwrap(), "one certificate in force per order");
    let revocation = Revocation { at: T0, reason: RevocationReason::Superseded, by: Some(domain::StaffId(7)) };
    assert!(db.record_revoked("01AB", &revocation, &audit("certificate.revoked")).await.unwrap());
    assert!(!db.record_revoked("01AB", &revocation, &audit("certificate.revoked")).await.unwrap(), "revoked once");
    assert!(!db.record_revoked("FFFF", &revocation, &audit("certificate.revoked")).await.unwrap());
    assert_eq!(db.certificate("01AB").await.unwrap().unwrap().revocation, Some(revocation));
    assert!(db.record_issued(&write(&second)).await.unwrap(), "once the first is revoked, a new one is recorded");
    assert_eq!(db.certificate_in_force(id).await.unwrap().unwrap().serial, "02CD");
    let all: Vec<String> = db.certificates_of_order(id).await.unwrap().into_iter().map(|c| c.serial).collect();
    assert_eq!(all, ["02CD", "01AB"], "newest first");
    assert_eq!(db.certificates_of_user(a).await.unwrap().len(), 2);
    assert!(db.certificates_of_user(user(db, 2).await).await.unwrap().is_empty());
    for query in ["02cd", "02:CD", "91350100m000100y43", "示例科技"] {
        let found = db.search_certificates(query, 10).await.unwrap();
        assert!(found.iter().any(|c| c.serial == "02CD"), "{query}");
    }
    assert!(db.search_certificates("%", 10).await.unwrap().is_empty(), "LIKE wildcards are literal");
    assert!(db.search_certificates("不存在的公司", 10).await.unwrap().is_empty());
    assert_eq!(db.search_certificates("", 1).await.unwrap().len(), 1, "the newest, up to the limit");
}

async fn a_certificate_keeps_the_first_seal_made_for_it(db: &Db) {
    use app::ports::{AuditEntry, CertificateRepo, IssuedForOrder, KeyPins, OrderRepo, SealRecord, SealRepo};
    use domain::pricing::KeyType;
    let a = user(db, 1).await;
    let application = draft(db, a).await;
    let id = db.create_order(&new_order(a, application, "key-1", "subject-1"), T0).await.unwrap();
    for (from, to) in
        [(OrderStatus::PendingPayment, OrderStatus::UnderReview), (OrderStatus::UnderReview, OrderStatus::Processing)]
    {
        assert!(db.transition_order(id, from, to, Actor::System, None, T0).await.unwrap());
    }
    let audit = AuditEntry {
        at: T0,
        staff_id: Some(domain::StaffId(7)),
        action: "certificate.issued".into(),
        order_id: Some(id),
        detail: String::new(),
    };
    let pins = KeyPins {
        order_id: id,
        token_serial: "t".into(),
        user_pin_sealed: "u".into(),
        so_pin_sealed: "s".into(),
        stored_at: T0,
    };
    let record = certificate(id, a, "01AB");
    let issued = IssuedForOrder { certificate: &record, key_type: KeyType::Main, pins: &pins, audit: &audit };
    assert!(db.record_issued(&issued).await.unwrap());
    assert_eq!(db.seal_of_certificate("01AB").await.unwrap(), None);
    let first = SealRecord { serial: "01AB".into(), es_id: "SD1".into(), der: vec![0x30, 0x00], created_at: T0 };
    assert_eq!(db.record_seal(&first).await.unwrap(), first);
    let second = SealRecord { es_id: "SD2".into(), der: vec![0x30, 0x01, 0x00], ..first.clone() };
    assert_eq!(db.record_seal(&second).await.unwrap(), first, "the seal made first is kept, whole");
    assert_eq!(db.seal_of_certificate("01AB").await.unwrap(), Some(first));
    let unknown = SealRecord { serial: "FFFF".into(), es_id: "SD3".into(), ..second };
    assert!(db.record_seal(&unknown).await.is_err(), "no seal without its certificate");

    assert_eq!(db.seal_source(id).await.unwrap(), None, "drawn unless chosen otherwise");
    db.choose_seal_source(id, domain::seal::SealSource::Scanned, domain::StaffId(7), T0).await.unwrap();
    assert_eq!(db.seal_source(id).await.unwrap(), Some(domain::seal::SealSource::Scanned));
    db.choose_seal_source(id, domain::seal::SealSource::Generated, domain::StaffId(8), T0).await.unwrap();
    assert_eq!(db.seal_source(id).await.unwrap(), Some(domain::seal::SealSource::Generated), "the later choice stands");
    assert!(
        db.choose_seal_source(domain::OrderId(999_999), domain::seal::SealSource::Scanned, domain::StaffId(7), T0)
            .await
            .is_err()
    );
}

async fn station_tokens_act_until_revoked(db: &Db) {
    use app::ports::{NewStaff, StaffRepo, StationRepo};
    use domain::staff::{Role, Roles};
    let new = NewStaff {
        username: "zhi.zheng".into(),
        name: "制证员".into(),
        phone: None,
        password_hash: "$argon2id$fake".into(),
        roles: Roles::of(&[Role::Fulfilment]),
    };
    let staff = db.create_staff(&new, T0).await.unwrap();
    let other = db.create_staff(&NewStaff { username: "other".into(), ..new.clone() }, T0).await.unwrap();
    let id = db.create_station_token(staff, "一号制证台", "digest-1", T0).await.unwrap();
    assert_eq!(db.station_token_staff("digest-1", T0 + Duration::hours(1)).await.unwrap(), Some(staff));
    assert_eq!(db.station_token_staff("digest-2", T0).await.unwrap(), None);
    let tokens = db.station_tokens(staff).await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].last_used_at, Some(T0 + Duration::hours(1)), "its last use is shown");
    assert!(db.station_tokens(other).await.unwrap().is_empty());
    assert!(!db.revoke_station_token(other, id, T0).await.unwrap(), "only its owner revokes it");
    assert!(db.revoke_station_token(staff, id, T0).await.unwrap());
    assert!(!db.revoke_station_token(staff, id, T0).await.unwrap());
    assert_eq!(db.station_token_staff("digest-1", T0).await.unwrap(), None, "a revoked token acts no more");
    assert!(db.station_tokens(staff).await.unwrap()[0].revoked_at.is_some());
}

/// The two migration trees define one schema: both migrated from nothing, then compared on what
/// the code relies on — tables, columns (storage meaning, nullability, key position, default),
/// indexes (columns, uniqueness, partial or not, and their names where both name them), foreign
/// keys with their delete rule, CHECK constraints per table and triggers.
#[tokio::test]
async fn both_migration_trees_define_the_same_schema() {
    let lite = TestDb::sqlite().await;
    let Some(pg) = TestDb::postgres().await else { return };
    let sqlite = schema::Schema::of_sqlite(&lite).await;
    let postgres = schema::Schema::of_postgres(&pg).await;
    assert!(sqlite.columns.len() > 100, "the introspection saw the tables: {:?}", sqlite.columns.len());
    schema::assert_same(&sqlite, &postgres);
    lite.finish().await;
    pg.finish().await;
}

mod schema {
    use std::collections::{BTreeMap, BTreeSet};
    use store::testing::TestDb;

    #[derive(Debug, Default)]
    pub struct Schema {
        /// (table, column) → (meaning, not null, position in the primary key, default).
        pub columns: BTreeMap<(String, String), (String, bool, u32, String)>,
        /// (table, columns, unique, partial) → index names (`None` for a name the engine made).
        pub indexes: BTreeMap<(String, String, bool, bool), Vec<Option<String>>>,
        /// (table, column, referenced table, referenced column, on delete).
        pub foreign_keys: BTreeSet<(String, String, String, String, String)>,
        /// table → number of CHECK constraints.
        pub checks: BTreeMap<String, usize>,
        /// (table, "BEFORE UPDATE" and the like): what the triggers guard, not their names
        /// (a PostgreSQL trigger may cover several events; a SQLite one covers one).
        pub triggers: BTreeSet<(String, String)>,
    }

    fn split(row: &str, n: usize) -> Vec<String> {
        let parts: Vec<String> = row.splitn(n, '|').map(str::to_owned).collect();
        assert_eq!(parts.len(), n, "introspection row {row:?}");
        parts
    }

    /// A default as both engines spell it: casts, parentheses and boolean words removed.
    fn default(text: &str) -> String {
        let mut d = text.trim();
        while let Some(inner) = d.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
            d = inner.trim();
        }
        let d = d.split("::").next().unwrap_or(d).trim();
        match d.to_ascii_lowercase().as_str() {
            "false" => "0".into(),
            "true" => "1".into(),
            "null" => String::new(),
            _ => d.to_owned(),
        }
    }

    /// What a PostgreSQL type means to the code; the SQLite side must store it in the matching
    /// storage class (integer for numbers, flags and times; text; bytes).
    fn pg_meaning(table: &str, column: &str, ty: &str) -> &'static str {
        match ty {
            "bigint" | "integer" | "smallint" => "integer",
            "boolean" => "flag",
            "timestamp with time zone" => "time",
            "text" => "text",
            "bytea" => "bytes",
            other => panic!("{table}.{column}: type {other} has no agreed meaning on SQLite"),
        }
    }

    fn sqlite_class(table: &str, column: &str, declared: &str) -> &'static str {
        match declared {
            "INTEGER" | "BIGINT" | "INT" => "integer",
            "TEXT" => "text",
            "BLOB" => "bytes",
            other => panic!("{table}.{column}: declared type {other:?} on SQLite"),
        }
    }

    const SQLITE_TABLES: &str = "FROM sqlite_master m WHERE m.type = 'table' \
        AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND m.name <> '_sqlx_migrations'";
    const PG_TABLES: &str = "JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public' \
        WHERE t.relkind = 'r' AND t.relname <> '_sqlx_migrations'";

    impl Schema {
        pub async fn of_sqlite(db: &TestDb) -> Self {
            let mut s = Schema::default();
            let sql = format!(
                "SELECT m.name || '|' || p.name || '|' || upper(p.type) || '|' || (p.\"notnull\" OR p.pk > 0) \
                 || '|' || p.pk || '|' || coalesce(p.dflt_value, '') {SQLITE_TABLES_P}",
                SQLITE_TABLES_P =
                    SQLITE_TABLES.replace("FROM sqlite_master m", "FROM sqlite_master m, pragma_table_info(m.name) p")
            );
            let mut pk_of = BTreeMap::new();
            for row in db.texts(&sql).await {
                let p = split(&row, 6);
                let meaning = sqlite_class(&p[0], &p[1], &p[2]).to_owned();
                let pk: u32 = p[4].parse().unwrap();
                if pk == 1 {
                    pk_of.insert(p[0].clone(), p[1].clone());
                }
                s.columns.insert((p[0].clone(), p[1].clone()), (meaning, p[3] == "1", pk, default(&p[5])));
            }
            let sql = format!(
                "SELECT m.name || '|' || il.name || '|' || il.\"unique\" || '|' || il.partial || '|' || \
                 (SELECT group_concat(c, ',') FROM (SELECT coalesce(ii.name, '<expr>') AS c \
                  FROM pragma_index_xinfo(il.name) ii WHERE ii.key = 1 ORDER BY ii.seqno)) {}",
                SQLITE_TABLES.replace("FROM sqlite_master m", "FROM sqlite_master m, pragma_index_list(m.name) il")
                    + " AND il.origin <> 'pk'"
            );
            for row in db.texts(&sql).await {
                let p = split(&row, 5);
                let name = (!p[1].starts_with("sqlite_autoindex_")).then(|| p[1].clone());
                s.indexes.entry((p[0].clone(), p[4].clone(), p[2] == "1", p[3] == "1")).or_default().push(name);
            }
            let sql = format!(
                "SELECT m.name || '|' || f.\"from\" || '|' || f.\"table\" || '|' || coalesce(f.\"to\", '') || '|' || f.on_delete {}",
                SQLITE_TABLES
                    .replace("FROM sqlite_master m", "FROM sqlite_master m, pragma_foreign_key_list(m.name) f")
            );
            for row in db.texts(&sql).await {
                let p = split(&row, 5);
                let to = if p[3].is_empty() { pk_of.get(&p[2]).cloned().unwrap_or_default() } else { p[3].clone() };
                s.foreign_keys.insert((p[0].clone(), p[1].clone(), p[2].clone(), to, p[4].clone()));
            }
            for row in db.texts(&format!("SELECT m.name || '|' || m.sql {SQLITE_TABLES}")).await {
                let p = split(&row, 2);
                let code: String = p[1]
                    .lines()
                    .map(|l| l.split("--").next().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("\n")
                    .to_ascii_uppercase();
                let n = code.matches("CHECK (").count() + code.matches("CHECK(").count();
                if n > 0 {
                    s.checks.insert(p[0].clone(), n);
                }
            }
            for row in db.texts("SELECT tbl_name || '|' || sql FROM sqlite_master WHERE type = 'trigger'").await {
                let p = split(&row, 2);
                let words: Vec<String> = p[1].split_whitespace().map(str::to_ascii_uppercase).collect();
                let at = words.iter().position(|w| w == "BEFORE" || w == "AFTER" || w == "INSTEAD").unwrap();
                let event =
                    words[at + 1..].iter().find(|w| ["INSERT", "UPDATE", "DELETE"].contains(&w.as_str())).unwrap();
                let timing = if words[at] == "INSTEAD" { "INSTEAD OF" } else { words[at].as_str() };
                s.triggers.insert((p[0].clone(), format!("{timing} {event}")));
            }
            s
        }

        pub async fn of_postgres(db: &TestDb) -> Self {
            let mut s = Schema::default();
            let sql = format!(
                "SELECT t.relname || '|' || a.attname || '|' || format_type(a.atttypid, NULL) || '|' || \
                 (CASE WHEN a.attnotnull THEN 1 ELSE 0 END) || '|' || coalesce(array_position(pk.conkey, a.attnum), 0) \
                 || '|' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') \
                 FROM pg_class t JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped \
                 LEFT JOIN pg_constraint pk ON pk.conrelid = t.oid AND pk.contype = 'p' \
                 LEFT JOIN pg_attrdef d ON d.adrelid = t.oid AND d.adnum = a.attnum {PG_TABLES}"
            );
            for row in db.texts(&sql).await {
                let p = split(&row, 6);
                let meaning = pg_meaning(&p[0], &p[1], &p[2]).to_owned();
                s.columns.insert(
                    (p[0].clone(), p[1].clone()),
                    (meaning, p[3] == "1", p[4].parse().unwrap(), default(&p[5])),
                );
            }
            let sql = format!(
                "SELECT t.relname || '|' || i.relname || '|' || (CASE WHEN x.indisunique THEN 1 ELSE 0 END) || '|' || \
                 (CASE WHEN x.indpred IS NULL THEN 0 ELSE 1 END) || '|' || \
                 (SELECT string_agg(coalesce(a.attname, '<expr>'), ',' ORDER BY k.ord) \
                  FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord) \
                  LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) || '|' || \
                 (CASE WHEN EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) THEN 1 ELSE 0 END) \
                 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
                 {PG_TABLES} AND NOT x.indisprimary"
            );
            for row in db.texts(&sql).await {
                let p = split(&row, 6);
                // An index behind a UNIQUE constraint is named by the constraint on PostgreSQL and
                // by the engine on SQLite.
                let name = (p[5] != "1").then(|| p[1].clone());
                s.indexes.entry((p[0].clone(), p[4].clone(), p[2] == "1", p[3] == "1")).or_default().push(name);
            }
            let sql = format!(
                "SELECT t.relname || '|' || a.attname || '|' || r.relname || '|' || ra.attname || '|' || \
                 (CASE c.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' \
                  WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END) \
                 FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid \
                 CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(col, refcol) \
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.col \
                 JOIN pg_attribute ra ON ra.attrelid = r.oid AND ra.attnum = k.refcol \
                 {PG_TABLES} AND c.contype = 'f'"
            );
            for row in db.texts(&sql).await {
                let p = split(&row, 5);
                s.foreign_keys.insert((p[0].clone(), p[1].clone(), p[2].clone(), p[3].clone(), p[4].clone()));
            }
            let sql = format!(
                "SELECT t.relname || '|' || count(*) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
                 {PG_TABLES} AND c.contype = 'c' GROUP BY t.relname"
            );
            for row in db.texts(&sql).await {
                let p = split(&row, 2);
                s.checks.insert(p[0].clone(), p[1].parse().unwrap());
            }
            let sql = "SELECT DISTINCT event_object_table || '|' || action_timing || ' ' || event_manipulation \
                       FROM information_schema.triggers WHERE trigger_schema = 'public'";
            for row in db.texts(sql).await {
                let p = split(&row, 2);
                s.triggers.insert((p[0].clone(), p[1].clone()));
            }
            s
        }
    }

    /// Every difference at once, named, rather than the first.
    pub fn assert_same(sqlite: &Schema, postgres: &Schema) {
        let mut problems = Vec::new();
        for (key, lite) in &sqlite.columns {
            match postgres.columns.get(key) {
                None => problems.push(format!("column {}.{} only on SQLite", key.0, key.1)),
                Some(pg) => {
                    let storage = if pg.0 == "flag" || pg.0 == "time" { "integer" } else { pg.0.as_str() };
                    if lite.0 != storage || lite.1 != pg.1 || lite.2 != pg.2 || lite.3 != pg.3 {
                        problems.push(format!(
                            "column {}.{}: SQLite (storage {}, not null {}, key {}, default {:?}) vs \
                             PostgreSQL ({}, not null {}, key {}, default {:?})",
                            key.0, key.1, lite.0, lite.1, lite.2, lite.3, pg.0, pg.1, pg.2, pg.3
                        ));
                    }
                }
            }
        }
        for key in postgres.columns.keys().filter(|k| !sqlite.columns.contains_key(*k)) {
            problems.push(format!("column {}.{} only on PostgreSQL", key.0, key.1));
        }
        for (key, lite) in &sqlite.indexes {
            match postgres.indexes.get(key) {
                None => problems.push(format!("index {key:?} ({lite:?}) only on SQLite")),
                Some(pg) => {
                    let named = |names: &Vec<Option<String>>| names.iter().flatten().cloned().collect::<BTreeSet<_>>();
                    if lite.len() != pg.len() || named(lite) != named(pg) {
                        problems.push(format!("index {key:?}: SQLite {lite:?} vs PostgreSQL {pg:?}"));
                    }
                }
            }
        }
        for (key, pg) in postgres.indexes.iter().filter(|(k, _)| !sqlite.indexes.contains_key(*k)) {
            problems.push(format!("index {key:?} ({pg:?}) only on PostgreSQL"));
        }
        for fk in sqlite.foreign_keys.symmetric_difference(&postgres.foreign_keys) {
            let side = if sqlite.foreign_keys.contains(fk) { "SQLite" } else { "PostgreSQL" };
            problems.push(format!("foreign key {fk:?} only on {side}"));
        }
        if sqlite.checks != postgres.checks {
            problems.push(format!(
                "CHECK constraints per table: SQLite {:?} vs PostgreSQL {:?}",
                sqlite.checks, postgres.checks
            ));
        }
        for trigger in sqlite.triggers.symmetric_difference(&postgres.triggers) {
            let side = if sqlite.triggers.contains(trigger) { "SQLite" } else { "PostgreSQL" };
            problems.push(format!("trigger {trigger:?} only on {side}"));
        }
        assert!(problems.is_empty(), "the migration trees differ:\n{}", problems.join("\n"));
    }
}

/// A certificate issued for a new order of user `n` (order placed, paid, approved, issued).
async fn issued_certificate(db: &Db, user_id: UserId, key: &str, serial: &str, not_after: OffsetDateTime) {
    use app::ports::{AuditEntry, CertificateRepo, IssuedForOrder, KeyPins, OrderRepo};
    use domain::pricing::KeyType;
    let application = draft(db, user_id).await;
    let id = db.create_order(&new_order(user_id, application, key, key), T0).await.unwrap();
    for (from, to) in
        [(OrderStatus::PendingPayment, OrderStatus::UnderReview), (OrderStatus::UnderReview, OrderStatus::Processing)]
    {
        assert!(db.transition_order(id, from, to, Actor::System, None, T0).await.unwrap());
    }
    let pins = KeyPins {
        order_id: id,
        token_serial: format!("token-{serial}"),
        user_pin_sealed: "sealed-user".into(),
        so_pin_sealed: "sealed-so".into(),
        stored_at: T0,
    };
    let audit = AuditEntry {
        at: T0,
        staff_id: None,
        action: "certificate.issued".into(),
        order_id: Some(id),
        detail: String::new(),
    };
    let certificate = app::ports::CertificateRecord { not_after, ..certificate(id, user_id, serial) };
    let write = IssuedForOrder { certificate: &certificate, key_type: KeyType::Main, pins: &pins, audit: &audit };
    assert!(db.record_issued(&write).await.unwrap());
}

async fn certificates_expiring_soon_are_listed_and_a_revocation_is_asked_once(db: &Db) {
    use app::ports::{AuditEntry, AuditLog, CertificateRepo, Revocation, RevocationRequest};
    use domain::certificate::RevocationReason;
    let a = user(db, 1).await;
    issued_certificate(db, a, "k1", "0A", T0 + Duration::days(20)).await;
    issued_certificate(db, a, "k2", "0B", T0 + Duration::days(10)).await;
    issued_certificate(db, a, "k3", "0C", T0 + Duration::days(200)).await;
    let serials = |c: Vec<app::ports::CertificateRecord>| c.into_iter().map(|c| c.serial).collect::<Vec<_>>();
    let month = T0 + Duration::days(30);
    assert_eq!(serials(db.certificates_expiring(T0, month, 10).await.unwrap()), ["0B", "0A"], "soonest first");
    assert_eq!(serials(db.certificates_expiring(T0, month, 1).await.unwrap()), ["0B"], "up to the limit");
    let later = T0 + Duration::days(15);
    assert_eq!(serials(db.certificates_expiring(later, month, 10).await.unwrap()), ["0A"], "ending after `from`");

    let revocation = Revocation { at: T0, reason: RevocationReason::KeyCompromise, by: None };
    let audit = |action: &str| AuditEntry {
        at: T0,
        staff_id: Some(domain::StaffId(7)),
        action: action.into(),
        order_id: None,
        detail: String::new(),
    };
    assert!(db.record_revoked("0B", &revocation, &audit("certificate.revoked")).await.unwrap());
    assert_eq!(serials(db.certificates_expiring(T0, month, 10).await.unwrap()), ["0A"], "a revoked one is not");

    let request = RevocationRequest {
        serial: "0A".into(),
        reason: RevocationReason::CessationOfOperation,
        note: "企业注销".into(),
        requested_by: domain::StaffId(7),
        requested_at: T0,
    };
    assert!(db.request_revocation(&request, &audit("revocation.request")).await.unwrap());
    let again = RevocationRequest { note: "重复".into(), requested_by: domain::StaffId(8), ..request.clone() };
    assert!(!db.request_revocation(&again, &audit("revocation.request")).await.unwrap(), "one request waits");
    let revoked = RevocationRequest { serial: "0B".into(), ..request.clone() };
    assert!(!db.request_revocation(&revoked, &audit("revocation.request")).await.unwrap(), "already revoked");
    let unknown = RevocationRequest { serial: "FF".into(), ..request.clone() };
    assert!(!db.request_revocation(&unknown, &audit("revocation.request")).await.unwrap());
    assert_eq!(db.revocation_request("0A").await.unwrap(), Some(request.clone()));
    assert_eq!(db.revocation_request("0C").await.unwrap(), None);
    assert_eq!(db.revocation_requests().await.unwrap(), [request]);
    let requested = db.audit_log(None, 10).await.unwrap();
    assert_eq!(requested.iter().filter(|e| e.action == "revocation.request").count(), 1, "audited with the request");
}

async fn a_form_template_is_replaced_per_kind_and_removed(db: &Db) {
    use app::ports::{FormTemplate, TemplateRepo};
    let template = |kind, key: &str| FormTemplate {
        kind,
        file_key: key.into(),
        size: 1234,
        sha256: "ab".repeat(32),
        uploaded_at: T0,
    };
    let staff = domain::StaffId(7);
    assert_eq!(db.template(DocumentKind::ApplicationForm).await.unwrap(), None, "built-in until uploaded");
    assert_eq!(db.set_template(&template(DocumentKind::ApplicationForm, "form-1"), staff).await.unwrap(), None);
    assert_eq!(db.set_template(&template(DocumentKind::Authorization, "auth-1"), staff).await.unwrap(), None);
    let replaced = db.set_template(&template(DocumentKind::ApplicationForm, "form-2"), staff).await.unwrap();
    assert_eq!(replaced.as_deref(), Some("form-1"), "the replaced file is handed back for deletion");
    assert_eq!(
        db.template(DocumentKind::ApplicationForm).await.unwrap(),
        Some(template(DocumentKind::ApplicationForm, "form-2"))
    );
    assert_eq!(db.delete_template(DocumentKind::ApplicationForm).await.unwrap().as_deref(), Some("form-2"));
    assert_eq!(db.delete_template(DocumentKind::ApplicationForm).await.unwrap(), None, "gone once");
    assert_eq!(db.template(DocumentKind::ApplicationForm).await.unwrap(), None);
    assert_eq!(db.template(DocumentKind::Authorization).await.unwrap().unwrap().file_key, "auth-1", "per kind");
}

async fn finance_alerts_list_open_ones_first(db: &Db) {
    use app::ports::{FinanceAlert, PaymentJournal};
    let alert = |kind: &str, minutes: i64| FinanceAlert {
        id: domain::FinanceAlertId(0),
        kind: kind.into(),
        order_id: None,
        out_trade_no: Some(format!("SD{minutes}A")),
        detail: "签名有效的付款通知与订单不符".into(),
        created_at: T0 + Duration::minutes(minutes),
        resolution: None,
    };
    for (kind, minutes) in [("notice_mismatch", 1), ("unknown_trade", 2), ("bill_mismatch", 3)] {
        db.add_finance_alert(&alert(kind, minutes)).await.unwrap();
    }
    let kinds = |alerts: &[FinanceAlert]| alerts.iter().map(|a| a.kind.clone()).collect::<Vec<_>>();
    let listed = db.finance_alerts(10).await.unwrap();
    assert_eq!(kinds(&listed), ["bill_mismatch", "unknown_trade", "notice_mismatch"], "newest first");
    assert_eq!(listed[2], FinanceAlert { id: listed[2].id, ..alert("notice_mismatch", 1) }, "stored as raised");
    let newest = listed[0].id;
    assert!(db.resolve_finance_alert(newest, domain::StaffId(7), "已核实，支付宝延迟入账", T0).await.unwrap());
    let listed = db.finance_alerts(10).await.unwrap();
    assert_eq!(kinds(&listed), ["unknown_trade", "notice_mismatch", "bill_mismatch"], "a resolved one goes below");
    assert_eq!(listed[2].resolution.as_deref(), Some("已核实，支付宝延迟入账"));
    assert_eq!(db.finance_alerts(1).await.unwrap().len(), 1);
}

async fn a_paid_order_that_asked_for_an_invoice_waits_for_it_and_counts_its_sendings(db: &Db) {
    use app::ports::{InvoiceBook, InvoiceRecord, InvoiceRepo, OrderRepo};
    let a = user(db, 1).await;
    let wants = db.create_order(&new_order(a, draft(db, a).await, "k1", "s1"), T0).await.unwrap();
    let none = NewOrder { invoice: None, ..new_order(a, draft(db, a).await, "k2", "s2") };
    let without = db.create_order(&none, T0 + Duration::minutes(1)).await.unwrap();
    let queue = || async { db.invoice_queue().await.unwrap().into_iter().map(|o| o.id).collect::<Vec<_>>() };
    assert!(queue().await.is_empty(), "an unpaid order is not invoiced");
    for id in [wants, without] {
        assert!(
            db.transition_order(
                id,
                OrderStatus::PendingPayment,
                OrderStatus::UnderReview,
                Actor::PaymentGateway,
                None,
                T0
            )
            .await
            .unwrap()
        );
    }
    assert_eq!(queue().await, [wants], "only the order that asked for one");
    let invoice = InvoiceRecord {
        order_id: wants,
        invoice_no: "24442000000012345678".into(),
        issued_by: Some(domain::StaffId(7)),
        issued_at: T0,
        sent_count: 0,
        red: None,
        files: Vec::new(),
    };
    assert!(db.save_invoice(&invoice).await.unwrap());
    assert!(queue().await.is_empty(), "issued");
    assert_eq!(db.invoice_sent(wants).await.unwrap(), 1);
    assert_eq!(db.invoice_sent(wants).await.unwrap(), 2, "resent on request");
    assert_eq!(db.invoice(wants).await.unwrap().unwrap().sent_count, 2);
}

async fn an_edited_order_shows_its_new_subject_name(db: &Db) {
    use app::ports::{OrderBook, OrderRepo};
    let a = user(db, 1).await;
    let id = db.create_order(&new_order(a, draft(db, a).await, "k1", "s1"), T0).await.unwrap();
    let other = db.create_order(&new_order(a, draft(db, a).await, "k2", "s2"), T0).await.unwrap();
    db.set_order_subject_name(id, "示例科技（深圳）有限公司", T0 + Duration::hours(1)).await.unwrap();
    assert_eq!(db.order_by_id(id).await.unwrap().unwrap().order.subject_name, "示例科技（深圳）有限公司");
    assert_eq!(db.order_by_id(other).await.unwrap().unwrap().order.subject_name, "示例科技有限公司", "only that one");
    let listed = db.order_summaries(a).await.unwrap();
    assert!(listed.iter().any(|o| o.subject_name == "示例科技（深圳）有限公司"), "the list shows it too");
}
