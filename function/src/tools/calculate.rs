//! `calculate`: exact decimal arithmetic on two numbers.

use std::str::FromStr;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Deps, Hints, Reply, Tool, ToolError, ToolSpec};

pub struct Calculate;

impl Tool for Calculate {
    const SPEC: ToolSpec = ToolSpec {
        name: "calculate",
        title: "Calculate",
        description: "Exact decimal arithmetic on two numbers: add, subtract, multiply or divide. \
                      Division by zero and results that overflow are reported as errors.",
        summary: "exact arithmetic",
        hints: Hints::LOCAL,
        iam_actions: &[],
        example: r#"{"operation": "add", "a": 0.1, "b": 0.2}"#,
    };
    type Args = CalculateRequest;
    type Output = Calculation;

    fn call(_: &Deps, req: CalculateRequest) -> Result<Reply<Calculation>, ToolError> {
        let c = calculate(req.operation, req.a, req.b)?;
        Ok(Reply::new(c.expression.clone(), c))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Add,
    Subtract,
    Multiply,
    Divide,
}

impl Operation {
    fn symbol(self) -> &'static str {
        match self {
            Operation::Add => "+",
            Operation::Subtract => "-",
            Operation::Multiply => "×",
            Operation::Divide => "÷",
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalculateRequest {
    pub operation: Operation,
    /// Left operand.
    pub a: f64,
    /// Right operand.
    pub b: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Calculation {
    pub operation: Operation,
    pub a: f64,
    pub b: f64,
    pub result: f64,
    /// The result as an exact decimal string (no binary floating-point noise).
    pub result_text: String,
    pub expression: String,
}

/// Exact decimal arithmetic: operands are taken at their shortest decimal spelling, so
/// `0.1 + 0.2` is `0.3`. Falls back to binary floating point only when a value is outside
/// the decimal range (about ±7.9e28); a non-finite result is an error, never a panic.
pub fn calculate(operation: Operation, a: f64, b: f64) -> Result<Calculation, String> {
    if !a.is_finite() || !b.is_finite() {
        return Err("Operands must be finite numbers.".into());
    }
    if operation == Operation::Divide && b == 0.0 {
        return Err(format!(
            "Division by zero: {a} ÷ 0 is undefined. Choose a non-zero divisor `b`."
        ));
    }
    let exact = Decimal::from_str(&a.to_string())
        .ok()
        .zip(Decimal::from_str(&b.to_string()).ok())
        .and_then(|(x, y)| match operation {
            Operation::Add => x.checked_add(y),
            Operation::Subtract => x.checked_sub(y),
            Operation::Multiply => x.checked_mul(y),
            Operation::Divide => x.checked_div(y),
        })
        .map(|d| d.normalize());
    let (result, result_text) = match exact {
        Some(d) => {
            let text = d.to_string();
            (text.parse::<f64>().unwrap_or(f64::NAN), text)
        }
        None => {
            let r = match operation {
                Operation::Add => a + b,
                Operation::Subtract => a - b,
                Operation::Multiply => a * b,
                Operation::Divide => a / b,
            };
            (r, r.to_string())
        }
    };
    if !result.is_finite() {
        return Err(format!(
            "The result of {a} {} {b} is not a finite number (overflow).",
            operation.symbol()
        ));
    }
    Ok(Calculation {
        operation,
        a,
        b,
        result,
        expression: format!("{a} {} {b} = {result_text}", operation.symbol()),
        result_text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calculate_is_exact_in_decimal() {
        let c = calculate(Operation::Add, 0.1, 0.2).unwrap();
        assert_eq!(c.result_text, "0.3");
        assert_eq!(c.result, 0.3);
        assert_eq!(
            calculate(Operation::Subtract, 5.0, 7.5).unwrap().result,
            -2.5
        );
        assert_eq!(
            calculate(Operation::Multiply, 1.1, 1.1)
                .unwrap()
                .result_text,
            "1.21"
        );
        assert_eq!(calculate(Operation::Divide, 1.0, 4.0).unwrap().result, 0.25);
        assert_eq!(
            calculate(Operation::Divide, 10.0, 4.0).unwrap().expression,
            "10 ÷ 4 = 2.5"
        );
    }

    #[test]
    fn calculate_reports_division_by_zero_and_overflow() {
        assert!(
            calculate(Operation::Divide, 1.0, 0.0)
                .unwrap_err()
                .contains("Division by zero")
        );
        assert!(
            calculate(Operation::Divide, 0.0, -0.0)
                .unwrap_err()
                .contains("Division by zero")
        );
        assert!(
            calculate(Operation::Multiply, 1e300, 1e300)
                .unwrap_err()
                .contains("not a finite")
        );
        // Outside the decimal range the binary result is still exact enough and finite.
        assert_eq!(calculate(Operation::Add, 1e30, 1e30).unwrap().result, 2e30);
    }
}
