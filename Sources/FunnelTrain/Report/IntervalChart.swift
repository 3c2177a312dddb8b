/// An SVG dot-and-whisker chart: one row per model, its mean as a dot and ± one standard deviation as a whisker,
/// on a horizontal axis fitted to the intervals, with an optional reference line (the baseline's mean).
struct IntervalChart {
    struct Row {
        var label: String
        var color: String
        var mean: Double, std: Double
    }

    var title: String
    var axisLabel: String
    var rows: [Row]
    var reference: Double?
    var width = 460.0

    var svg: String {
        let font = 11.0, rowHeight = 22.0, top = 30.0, bottom = 40.0
        let height = top + bottom + rowHeight * Double(rows.count)
        let scale = ChartScale(fitting: rows.flatMap { [$0.mean - $0.std, $0.mean + $0.std] } + (reference.map { [$0] } ?? []))
        let left = 12 + (rows.map { textWidth($0.label, size: font) }.max() ?? 0)
        let right = 12 + textWidth(scale.label(scale.upper), size: font) / 2
        let x0 = left, x1 = width - right, y0 = height - bottom
        func px(_ x: Double) -> Double { scale.position(x, from: x0, to: x1) }
        var out = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(coordinate(width)) \(coordinate(height))\" "
            + "role=\"img\" aria-label=\"\(escaped(title))\">\n"
        out += "<text class=\"title\" x=\"\(coordinate(width / 2))\" y=\"18\" text-anchor=\"middle\">\(escaped(title))</text>\n"
        for tick in scale.ticks {
            let x = coordinate(px(tick))
            out += "<line class=\"grid\" x1=\"\(x)\" y1=\"\(coordinate(top))\" x2=\"\(x)\" y2=\"\(coordinate(y0))\"/>"
                + "<text class=\"tick\" x=\"\(x)\" y=\"\(coordinate(y0 + 15))\" text-anchor=\"middle\">\(scale.label(tick))</text>\n"
        }
        if let reference {
            let x = coordinate(px(reference))
            out += "<line class=\"reference\" x1=\"\(x)\" y1=\"\(coordinate(top))\" x2=\"\(x)\" y2=\"\(coordinate(y0))\"/>\n"
        }
        for (i, row) in rows.enumerated() {
            let y = coordinate(top + rowHeight * (Double(i) + 0.5))
            out += "<text class=\"label\" x=\"\(coordinate(x0 - 6))\" y=\"\(y)\" dy=\"0.35em\" text-anchor=\"end\">\(escaped(row.label))</text>"
                + "<line class=\"whisker\" x1=\"\(coordinate(px(row.mean - row.std)))\" y1=\"\(y)\" x2=\"\(coordinate(px(row.mean + row.std)))\" "
                + "y2=\"\(y)\" stroke=\"\(row.color)\"/>"
                + "<circle class=\"point\" cx=\"\(coordinate(px(row.mean)))\" cy=\"\(y)\" r=\"4\" fill=\"\(row.color)\"/>\n"
        }
        out += "<text class=\"axis\" x=\"\(coordinate((x0 + x1) / 2))\" y=\"\(coordinate(height - 8))\" text-anchor=\"middle\">\(escaped(axisLabel))</text>\n"
        return out + "</svg>\n"
    }
}
