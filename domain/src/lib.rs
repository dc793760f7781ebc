//! vetpay's business rules, pure: no database, no runtime, no HTTP. The store
//! loads plain values, asks a rule here, and saves what it decides; the rules
//! answer decisions or typed errors. The store may import this crate; this
//! crate never knows about the store.

pub mod day_close;
pub mod discount;
pub mod ids;
pub mod invoice;
pub mod invoice_math;
pub mod payment;
pub mod period;
pub mod plan;
mod text_enum;

pub use ids::*;
pub use invoice::{InvoiceError, InvoiceKind, InvoiceStatus, InvoiceSums, settled_status};
pub use invoice_math::{LineAmounts, line_amounts, round_minor};
pub use payment::{
    Booking, Decider, Method, PaymentError, PaymentKind, PaymentStatus, RefundBasis, RefundError,
    TransitionError,
};
pub use period::{Period, PeriodError, today};
pub use plan::{
    CancellationSettlement, Candidate, Contract, ContractEnd, Eligibility, EligibilityError,
    LinePart, MonthStatus, PaymentOption, Renewal, SettlementError, Standing, SubscriptionStatus,
    UsedItem,
};
pub use text_enum::{TextEnum, UnknownText, sql_list};
pub use vetpay_money::{Currency, Money, MoneyError};
