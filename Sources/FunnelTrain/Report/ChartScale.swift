import Foundation

/// A linear axis fitted to the data it shows: the data range padded slightly and widened to round tick steps of
/// 1, 2 or 5 × 10ⁿ, so small differences (AUC 0.70 vs 0.72) fill the plot instead of sitting on a zero baseline.
struct ChartScale: Equatable {
    var lower: Double, upper: Double, step: Double

    /// The scale for `values` (non-finite ones ignored) with about `ticks` ticks, never beyond `limits`.
    init(fitting values: [Double], ticks: Int = 5, limits: ClosedRange<Double>? = nil) {
        let finite = values.filter(\.isFinite)
        var low = finite.min() ?? 0, high = finite.max() ?? 1
        if high - low < 1e-12 { low -= max(abs(low) * 0.05, 0.005); high += max(abs(high) * 0.05, 0.005) }
        let padding = (high - low) * 0.04
        low -= padding
        high += padding
        if let limits { low = max(low, limits.lowerBound); high = min(high, limits.upperBound) }
        let raw = (high - low) / Double(max(ticks, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let residual = raw / magnitude
        step = (residual < 1.5 ? 1 : residual < 3 ? 2 : residual < 7 ? 5 : 10) * magnitude
        lower = floor(low / step + 1e-9) * step
        upper = ceil(high / step - 1e-9) * step
        if let limits { lower = max(lower, limits.lowerBound); upper = min(upper, limits.upperBound) }
    }

    /// The same range widened to whole numbers, with ticks at least 1 apart.
    var integral: ChartScale {
        var scale = self
        scale.step = max(1, step.rounded())
        scale.lower = floor(lower)
        scale.upper = scale.lower + ceil((ceil(upper) - scale.lower) / scale.step) * scale.step
        return scale
    }

    /// Tick values from `lower` to `upper`.
    var ticks: [Double] {
        let count = Int(((upper - lower) / step).rounded())
        return (0...max(count, 0)).map { lower + Double($0) * step }
    }

    /// Decimals that tell the ticks apart.
    var decimals: Int { max(0, Int(-floor(log10(step) + 1e-9))) }

    func label(_ value: Double) -> String { String(format: "%.\(decimals)f", abs(value) < step * 1e-6 ? 0 : value) }

    /// Where `value` falls between `start` (at `lower`) and `end` (at `upper`).
    func position(_ value: Double, from start: Double, to end: Double) -> Double {
        start + (value - lower) / (upper - lower) * (end - start)
    }
}

/// Estimated width in pixels of `text` in the report's sans-serif font at `size` (generous, so labels never clip).
func textWidth(_ text: String, size: Double) -> Double { Double(text.count) * size * 0.62 }

/// A coordinate in SVG output: two decimals, no `-0`.
func coordinate(_ value: Double) -> String {
    let text = String(format: "%.2f", value)
    return text == "-0.00" ? "0.00" : text
}

/// `text` escaped for HTML and SVG text and attributes.
func escaped(_ text: String) -> String {
    var out = ""
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(character)
        }
    }
    return out
}
