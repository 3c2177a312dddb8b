/// An SVG line chart with axes fitted to its data: one polyline per series, optional highlighted points (a
/// run's best epoch), optional reference lines (the diagonal of a reliability diagram). Margins are computed
/// from the tick labels, so nothing is clipped.
struct LineChart {
    struct Series {
        var name: String
        var color: String
        var points: [(x: Double, y: Double)]
        var dashed = false
        /// Draw a dot at every point.
        var markers = false
        /// Points drawn as larger ringed dots (e.g. the best epoch).
        var highlighted: [(x: Double, y: Double)] = []
    }

    var title: String
    var xLabel: String, yLabel: String
    var series: [Series]
    /// Bounds the fitted axes never leave (e.g. 0…1 for probabilities).
    var xLimits: ClosedRange<Double>? = nil, yLimits: ClosedRange<Double>? = nil
    /// Integer x ticks (epochs).
    var integerX = false
    var width = 460.0, height = 300.0

    var svg: String {
        let xs = series.flatMap { $0.points.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) }
        let fitted = ChartScale(fitting: xs, limits: xLimits), xScale = integerX ? fitted.integral : fitted
        let yScale = ChartScale(fitting: ys, limits: yLimits)
        let font = 11.0
        let left = 14 + font + 8 + (yScale.ticks.map { textWidth(yScale.label($0), size: font) }.max() ?? 0)
        let right = 12.0 + textWidth(xScale.label(xScale.upper), size: font) / 2
        let top = 30.0, bottom = 44.0
        let x0 = left, x1 = width - right, y0 = height - bottom, y1 = top
        func px(_ x: Double) -> Double { xScale.position(x, from: x0, to: x1) }
        func py(_ y: Double) -> Double { yScale.position(y, from: y0, to: y1) }
        var out = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(coordinate(width)) \(coordinate(height))\" "
            + "role=\"img\" aria-label=\"\(escaped(title))\">\n"
        out += "<text class=\"title\" x=\"\(coordinate(width / 2))\" y=\"18\" text-anchor=\"middle\">\(escaped(title))</text>\n"
        for tick in yScale.ticks {
            let y = coordinate(py(tick))
            out += "<line class=\"grid\" x1=\"\(coordinate(x0))\" y1=\"\(y)\" x2=\"\(coordinate(x1))\" y2=\"\(y)\"/>"
                + "<text class=\"tick\" x=\"\(coordinate(x0 - 5))\" y=\"\(y)\" dy=\"0.35em\" text-anchor=\"end\">\(yScale.label(tick))</text>\n"
        }
        for tick in xScale.ticks {
            let x = coordinate(px(tick))
            out += "<line class=\"grid\" x1=\"\(x)\" y1=\"\(coordinate(y0))\" x2=\"\(x)\" y2=\"\(coordinate(y1))\"/>"
                + "<text class=\"tick\" x=\"\(x)\" y=\"\(coordinate(y0 + 15))\" text-anchor=\"middle\">\(xScale.label(tick))</text>\n"
        }
        out += "<rect class=\"frame\" x=\"\(coordinate(x0))\" y=\"\(coordinate(y1))\" width=\"\(coordinate(x1 - x0))\" height=\"\(coordinate(y0 - y1))\"/>\n"
        out += "<text class=\"axis\" x=\"\(coordinate((x0 + x1) / 2))\" y=\"\(coordinate(height - 8))\" text-anchor=\"middle\">\(escaped(xLabel))</text>\n"
        out += "<text class=\"axis\" transform=\"translate(\(coordinate(14)) \(coordinate((y0 + y1) / 2))) rotate(-90)\" text-anchor=\"middle\">"
            + "\(escaped(yLabel))</text>\n"
        for s in series where !s.points.isEmpty {
            let points = s.points.map { "\(coordinate(px($0.x))),\(coordinate(py($0.y)))" }.joined(separator: " ")
            out += "<polyline class=\"series\" data-name=\"\(escaped(s.name))\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.8\""
                + (s.dashed ? " stroke-dasharray=\"5 4\"" : "") + " points=\"\(points)\"/>\n"
            if s.markers {
                for p in s.points { out += "<circle class=\"point\" cx=\"\(coordinate(px(p.x)))\" cy=\"\(coordinate(py(p.y)))\" r=\"2.6\" fill=\"\(s.color)\"/>" }
                out += "\n"
            }
            for p in s.highlighted {
                out += "<circle class=\"best\" cx=\"\(coordinate(px(p.x)))\" cy=\"\(coordinate(py(p.y)))\" r=\"5\" fill=\"\(s.color)\" "
                    + "stroke=\"#fff\" stroke-width=\"1.5\"><title>\(escaped(s.name)): best epoch</title></circle>\n"
            }
        }
        return out + "</svg>\n"
    }
}
