//! Use cases of sealdesk and the ports they need.
//!
//! Each capability is one module. Most are services that hold only the narrow ports of
//! [`ports`] they use (a [`payment::Payments`] holds a ledger, a journal, an order book and an
//! announcer, never the whole store), so their rules are tested against the small in-memory
//! fakes of `fakes/`; [`App`] wires them over one store and hands them out
//! (`app.payments()`, `app.review()`, …). The capabilities not yet split out still work on
//! [`App`] itself. Web handlers call these functions and nothing else, so the HTML pages and
//! the JSON API share every rule.

pub mod accounts;
pub mod addresses;
pub mod applications;
pub mod bill;
pub mod ca;
pub mod catalog_admin;
pub mod certificates;
pub mod clock;
pub mod crypto;
pub mod documents;
pub mod error;
#[cfg(test)]
mod fakes;
pub mod finance;
pub mod fulfilment;
pub mod gateway;
pub mod invoices;
pub mod media;
pub mod notifications;
pub mod orders;
pub mod outbox;
pub mod passwords;
pub mod payment;
pub mod ports;
pub mod privacy;
pub mod recognition;
pub mod refunds;
pub mod review;
pub mod seal_maker;
pub mod seals;
pub mod sessions;
pub mod sms_codes;
pub mod staff;
pub mod station;
pub mod vault;

pub use error::{Error, Refusal, StoreError, Unique};

use clock::Clock;
use crypto::Keys;
use ports::{FileStore, Mailer, SmsSender, Store};
use std::sync::Arc;

/// Tunable rules that are policy, not code.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Idle timeout of applicant sessions (SECURITY A5: ≤ 30 min).
    pub session_idle: time::Duration,
    /// Absolute lifetime of applicant sessions (SECURITY A5: ≤ 12 h).
    pub session_absolute: time::Duration,
    /// Window in which login failures are counted.
    pub login_window: time::Duration,
    /// Failures per account within the window before it is throttled.
    pub login_failures_per_account: i64,
    /// Failures per client address within the window before it is throttled.
    pub login_failures_per_ip: i64,
    /// How long an order may wait for payment before it is cancelled.
    pub unpaid_order_ttl: time::Duration,
    /// How long an untouched, never-ordered draft (with its ID numbers and photos) is kept.
    pub draft_retention: time::Duration,
    /// How long a payment may stay pending before the reconciliation job asks the gateway.
    pub reconcile_after: time::Duration,
    /// How long after shipping a courier order completes unless the applicant confirmed earlier.
    pub auto_complete_after: time::Duration,
    /// Refunds above this amount need a second finance person's approval.
    pub refund_approval_above: domain::Money,
    /// Withhold demonstration pickup points from applicants (production, until an admin has
    /// replaced the seeded one).
    pub hide_demo_pickup_points: bool,
    /// The diameter of a company's round seal (38, 40 or 42 mm).
    pub seal_size: domain::seal::SealSize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            session_idle: time::Duration::minutes(30),
            session_absolute: time::Duration::hours(12),
            login_window: time::Duration::minutes(15),
            login_failures_per_account: 10,
            login_failures_per_ip: 50,
            unpaid_order_ttl: time::Duration::hours(24),
            draft_retention: time::Duration::days(30),
            reconcile_after: time::Duration::minutes(5),
            auto_complete_after: time::Duration::days(10),
            refund_approval_above: domain::Money::from_fen(50_000).unwrap_or(domain::Money::ZERO),
            hide_demo_pickup_points: false,
            seal_size: domain::seal::SealSize::Mm40,
        }
    }
}

/// The application: adapters plus policy. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) files: Arc<dyn FileStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) keys: Arc<Keys>,
    pub(crate) policy: Policy,
    pub(crate) vault: vault::Vault,
    pub(crate) notifier: Arc<notifications::Notifier>,
    pub(crate) throttle: accounts::Throttle,
    pub(crate) sessions: sessions::Sessions,
    pub(crate) sms_codes: sms_codes::SmsCodes,
    pub(crate) accounts: accounts::Accounts,
    pub(crate) address_book: addresses::AddressBook,
    pub(crate) payments: payment::Payments,
    pub(crate) refunds: refunds::Refunds,
    pub(crate) bill_checks: finance::BillChecks,
    pub(crate) catalogue: catalog_admin::Catalogue,
    pub(crate) invoices: invoices::Invoices,
    pub(crate) review: review::Review,
    pub(crate) fulfilment: fulfilment::Fulfilment,
    pub(crate) audit_trail: staff::AuditTrail,
    pub(crate) ocr: Option<recognition::OcrPool>,
    pub(crate) ca: Option<Arc<dyn ca::CertificateAuthority>>,
    pub(crate) seal_maker: Option<Arc<dyn seal_maker::SealMaker>>,
    /// Development: keys made on the desk itself, without a workstation.
    pub(crate) local_keys: Option<Arc<dyn station::LocalKeyMaker>>,
    pub(crate) passwords: Arc<passwords::PasswordPool>,
    pub(crate) decodes: media::DecodeBudget,
    /// This process among the instances sharing the database (for job leases).
    pub(crate) instance: Arc<str>,
}

impl App {
    pub fn new(
        store: Arc<dyn Store>,
        files: Arc<dyn FileStore>,
        sms: Arc<dyn SmsSender>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        keys: Keys,
        policy: Policy,
    ) -> Self {
        let keys = Arc::new(keys);
        let vault = vault::Vault::new(files.clone(), keys.clone());
        let notifier = Arc::new(notifications::Notifier::new(notifications::NotifierPorts {
            users: store.clone(),
            applications: store.clone(),
            queue: store.clone(),
            invoices: store.clone(),
            vault: vault.clone(),
            sms: sms.clone(),
            mailer,
            clock: clock.clone(),
        }));
        let passwords = Arc::new(passwords::PasswordPool::for_this_machine());
        let (throttle, sessions, sms_codes, accounts) =
            account_services(&store, sms, &keys, &clock, &policy, &passwords);
        let address_book = addresses::AddressBook::new(store.clone(), clock.clone());
        let payments = payment::Payments::new(
            payment::PaymentPorts {
                ledger: store.clone(),
                journal: store.clone(),
                orders: store.clone(),
                announcer: notifier.clone(),
                clock: clock.clone(),
            },
            payment::Gateways::default(),
            payment::PaymentRules::from(&policy),
        );
        let audit_trail = staff::AuditTrail::new(store.clone(), clock.clone());
        let fulfilment = fulfilment::Fulfilment::new(
            fulfilment::FulfilmentPorts {
                dispatch: store.clone(),
                orders: store.clone(),
                owners: store.clone(),
                pins: store.clone(),
                announcer: notifier.clone(),
                audit: audit_trail.clone(),
                keys: keys.clone(),
                clock: clock.clone(),
            },
            policy.auto_complete_after,
        );
        let (refunds, bill_checks, invoices) =
            back_office_services(&store, &payments, &notifier, &vault, &audit_trail, &clock, &policy);
        let catalogue = catalog_admin::Catalogue::new(
            store.clone(),
            store.clone(),
            files.clone(),
            audit_trail.clone(),
            clock.clone(),
        );
        let review = review::Review::new(review::ReviewPorts {
            claims: store.clone(),
            orders: store.clone(),
            documents: store.clone(),
            owners: store.clone(),
            announcer: notifier.clone(),
            audit: audit_trail.clone(),
            clock: clock.clone(),
        });
        Self {
            store,
            files,
            clock,
            keys,
            policy,
            vault,
            notifier,
            throttle,
            sessions,
            sms_codes,
            accounts,
            address_book,
            payments,
            refunds,
            bill_checks,
            catalogue,
            invoices,
            review,
            fulfilment,
            audit_trail,
            ocr: None,
            ca: None,
            seal_maker: None,
            local_keys: None,
            passwords,
            decodes: media::DecodeBudget::default(),
            instance: Arc::from(crypto::random_token()),
        }
    }

    /// The same app, paying through `gateways`.
    #[must_use]
    pub fn with_gateways(mut self, gateways: payment::Gateways) -> Self {
        self.payments.gateways = gateways;
        // The services that reach the gateways hold their own copy.
        self.refunds.payments = self.payments.clone();
        self.bill_checks.payments = self.payments.clone();
        self
    }

    /// Recording, shipping and handing over produced keys.
    pub fn fulfilment(&self) -> &fulfilment::Fulfilment {
        &self.fulfilment
    }

    /// Reviewers' claims and decisions.
    pub fn review(&self) -> &review::Review {
        &self.review
    }

    /// The daily comparison of the gateways' bills with our records.
    pub fn bill_checks(&self) -> &finance::BillChecks {
        &self.bill_checks
    }

    /// Invoices: issued, mailed, voided, downloaded.
    pub fn invoices(&self) -> &invoices::Invoices {
        &self.invoices
    }

    /// The catalog as admins keep it.
    pub fn catalogue(&self) -> &catalog_admin::Catalogue {
        &self.catalogue
    }

    /// Refunds finance asks for and approves.
    pub fn refunds(&self) -> &refunds::Refunds {
        &self.refunds
    }

    /// Applicant accounts: registration, login, passwords, the profile.
    pub fn accounts(&self) -> &accounts::Accounts {
        &self.accounts
    }

    /// The applicant's address book.
    pub fn address_book(&self) -> &addresses::AddressBook {
        &self.address_book
    }

    /// Applicants' sessions and their CSRF tokens.
    pub fn sessions(&self) -> &sessions::Sessions {
        &self.sessions
    }

    /// SMS verification codes.
    pub fn sms_codes(&self) -> &sms_codes::SmsCodes {
        &self.sms_codes
    }

    /// Paying for orders.
    pub fn payments(&self) -> &payment::Payments {
        &self.payments
    }

    /// Messages to applicants.
    pub fn notifier(&self) -> &notifications::Notifier {
        &self.notifier
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn is_ready(&self) -> bool {
        self.store.ping().await.is_ok()
    }

    /// Seals `bytes` under a fresh file key and stores them; returns (file key, wrapped key),
    /// which the row referring to the blob keeps.
    pub(crate) async fn store_sealed(&self, bytes: &[u8]) -> Result<(String, String), Error> {
        self.vault.put(bytes).await
    }

    /// Reads and opens a blob stored by [`App::store_sealed`].
    pub(crate) async fn read_sealed(&self, file_key: &str, wrapped_key: &str) -> Result<Vec<u8>, Error> {
        self.vault.get(file_key, wrapped_key).await
    }

    /// Whether this instance runs the periodic sweep `name` now: one instance of the cluster
    /// takes it per `period`; a holder that died loses it when the period runs out.
    pub async fn takes_turn(&self, name: &str, period: time::Duration) -> Result<bool, Error> {
        Ok(self.store.take_lease(name, &self.instance, self.clock.now(), period).await?)
    }

    /// Deletes expired sessions, codes and throttle records; returns how many rows went.
    pub async fn purge_expired(&self) -> Result<u64, Error> {
        Ok(self.store.purge_expired(self.clock.now()).await?)
    }
}

/// The services of applicants' accounts over one store: the login throttle, sessions, SMS codes
/// and the accounts themselves.
fn account_services(
    store: &Arc<dyn Store>,
    sms: Arc<dyn SmsSender>,
    keys: &Arc<Keys>,
    clock: &Arc<dyn Clock>,
    policy: &Policy,
    passwords: &Arc<passwords::PasswordPool>,
) -> (accounts::Throttle, sessions::Sessions, sms_codes::SmsCodes, accounts::Accounts) {
    let throttle = accounts::Throttle::new(store.clone(), keys.clone(), clock.clone(), policy.login_window);
    let sessions = sessions::Sessions::new(store.clone(), keys.clone(), clock.clone(), policy);
    let sms_codes = sms_codes::SmsCodes::new(store.clone(), store.clone(), sms, keys.clone(), clock.clone());
    let accounts = accounts::Accounts::new(
        accounts::AccountPorts {
            users: store.clone(),
            directory: store.clone(),
            sessions: sessions.clone(),
            codes: sms_codes.clone(),
            throttle: throttle.clone(),
            passwords: passwords.clone(),
            clock: clock.clone(),
        },
        accounts::LoginLimits {
            per_account: policy.login_failures_per_account,
            per_client: policy.login_failures_per_ip,
        },
    );
    (throttle, sessions, sms_codes, accounts)
}

/// The back office's money services over one store: refunds, the bill checks, invoices.
fn back_office_services(
    store: &Arc<dyn Store>,
    payments: &payment::Payments,
    notifier: &Arc<notifications::Notifier>,
    vault: &vault::Vault,
    audit_trail: &staff::AuditTrail,
    clock: &Arc<dyn Clock>,
    policy: &Policy,
) -> (refunds::Refunds, finance::BillChecks, invoices::Invoices) {
    let refunds = refunds::Refunds::new(
        refunds::RefundPorts {
            desk: store.clone(),
            ledger: store.clone(),
            orders: store.clone(),
            audit: audit_trail.clone(),
            payments: payments.clone(),
            clock: clock.clone(),
        },
        policy.refund_approval_above,
    );
    let bill_checks = finance::BillChecks::new(store.clone(), payments.clone(), clock.clone());
    let invoices = invoices::Invoices::new(invoices::InvoicePorts {
        repo: store.clone(),
        book: store.clone(),
        orders: store.clone(),
        queue: store.clone(),
        announcer: notifier.clone(),
        vault: vault.clone(),
        audit: audit_trail.clone(),
        clock: clock.clone(),
    });
    (refunds, bill_checks, invoices)
}
