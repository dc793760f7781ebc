//! The results of a run: a table for people, JUnit XML for CI.

use std::fmt::Write;
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

/// What became of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed(String),
    Failed(String),
    /// Does not apply to this plugin; says why.
    Skipped(String),
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Passed(_) => "passed",
            Verdict::Failed(_) => "FAILED",
            Verdict::Skipped(_) => "skipped",
        }
    }

    pub fn detail(&self) -> &str {
        match self {
            Verdict::Passed(d) | Verdict::Failed(d) | Verdict::Skipped(d) => d,
        }
    }
}

/// One check's result.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub name: &'static str,
    pub verdict: Verdict,
    pub time: Duration,
}

/// The results of a run, in the order the checks ran.
#[derive(Debug, Clone)]
pub struct Report {
    pub plugin: String,
    pub results: Vec<CheckResult>,
}

impl Report {
    pub fn passed(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Passed(_)))
    }

    pub fn failed(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Failed(_)))
    }

    pub fn skipped(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Skipped(_)))
    }

    fn count(&self, f: impl Fn(&Verdict) -> bool) -> usize {
        self.results.iter().filter(|r| f(&r.verdict)).count()
    }

    /// The table and the final `N passed, M failed` line.
    pub fn table(&self) -> String {
        let width = self.results.iter().map(|r| r.name.len()).max().unwrap_or(5);
        let mut out = String::new();
        let _ = writeln!(out, "{:<width$}  {:<7}  detail", "check", "result");
        for r in &self.results {
            let detail = r.verdict.detail().replace('\n', " ");
            let _ = writeln!(
                out,
                "{:<width$}  {:<7}  {detail}",
                r.name,
                r.verdict.label()
            );
        }
        let _ = write!(out, "{} passed, {} failed", self.passed(), self.failed());
        if self.skipped() > 0 {
            let _ = write!(out, " ({} skipped)", self.skipped());
        }
        out
    }

    /// The run as JUnit XML: one suite named after the plugin, one case per check.
    pub fn junit(&self) -> Result<String, quick_junit::SerializeError> {
        let mut suite = TestSuite::new(format!("conform {}", self.plugin));
        for r in &self.results {
            let status = match &r.verdict {
                Verdict::Passed(_) => TestCaseStatus::success(),
                Verdict::Failed(d) => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(d.as_str());
                    s
                }
                Verdict::Skipped(d) => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(d.as_str());
                    s
                }
            };
            let mut case = TestCase::new(r.name, status);
            case.set_classname(format!("conform.{}", self.plugin));
            case.set_time(r.time);
            if let Verdict::Passed(d) = &r.verdict {
                case.set_system_out(d.as_str());
            }
            suite.add_test_case(case);
        }
        let mut report = quick_junit::Report::new("vetpay plugin conform");
        report.add_test_suite(suite);
        report.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{CheckResult, Report, Verdict};

    fn report() -> Report {
        let result = |name, verdict| CheckResult {
            name,
            verdict,
            time: Duration::from_millis(5),
        };
        Report {
            plugin: "acme".into(),
            results: vec![
                result("purchase-approved", Verdict::Passed("approved 1234".into())),
                result("refund", Verdict::Failed("got <declined> & more".into())),
                result("aborted-by-clinic", Verdict::Skipped("no abort".into())),
            ],
        }
    }

    #[test]
    fn the_table_ends_with_the_counts() {
        let table = report().table();
        assert!(
            table.contains("refund             FAILED   got <declined> & more"),
            "{table}"
        );
        assert_eq!(table.lines().last(), Some("1 passed, 1 failed (1 skipped)"));
    }

    #[test]
    fn junit_names_every_check_and_escapes_details() {
        let xml = report().junit().unwrap();
        assert!(
            xml.contains(r#"tests="3""#) && xml.contains(r#"failures="1""#),
            "{xml}"
        );
        assert!(xml.contains(r#"<testcase name="refund""#), "{xml}");
        assert!(xml.contains("got &lt;declined&gt; &amp; more"), "{xml}");
        assert!(xml.contains(r#"<skipped message="no abort""#), "{xml}");
    }
}
