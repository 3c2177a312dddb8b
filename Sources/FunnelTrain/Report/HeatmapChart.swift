import FunnelModels

/// An SVG heat map of an `InspectionHeatmap`: one cell per value, shaded from white (the table's minimum) to
/// blue (its maximum), with the value printed in the cell; missing cells are hatched grey.
struct HeatmapChart {
    var map: InspectionHeatmap

    var svg: String {
        let font = 11.0, cell = 46.0, cellHeight = 26.0
        let columnLabelHeight = 12 + (map.columns.map { textWidth($0, size: font) }.max() ?? 0) * 0.72
        let left = 12 + (map.rows.map { textWidth($0, size: font) }.max() ?? 0)
        let top = 30 + columnLabelHeight
        let width = max(left + cell * Double(map.columns.count) + 24, textWidth(map.title, size: 12) + 24)
        let height = top + cellHeight * Double(map.rows.count) + 10
        let values = map.values.flatMap { $0.compactMap { $0 } }
        let low = values.min() ?? 0, high = values.max() ?? 1
        var out = "<svg class=\"chart heatmap\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(coordinate(width)) \(coordinate(height))\" "
            + "width=\"\(coordinate(width))\" role=\"img\" aria-label=\"\(escaped(map.title))\">\n"
        out += "<text class=\"title\" x=\"\(coordinate(left))\" y=\"18\">\(escaped(map.title))</text>\n"
        for (j, column) in map.columns.enumerated() {
            let x = left + cell * (Double(j) + 0.5)
            out += "<text class=\"tick\" transform=\"translate(\(coordinate(x + 4)) \(coordinate(top - 6))) rotate(-45)\">\(escaped(column))</text>\n"
        }
        for (i, row) in map.rows.enumerated() {
            let y = top + cellHeight * Double(i)
            out += "<text class=\"label\" x=\"\(coordinate(left - 6))\" y=\"\(coordinate(y + cellHeight / 2))\" dy=\"0.35em\" text-anchor=\"end\">"
                + "\(escaped(row))</text>"
            for (j, value) in map.values[i].enumerated() {
                let x = coordinate(left + cell * Double(j))
                guard let value else {
                    out += "<rect class=\"missing\" x=\"\(x)\" y=\"\(coordinate(y))\" width=\"\(coordinate(cell - 2))\" height=\"\(coordinate(cellHeight - 2))\"/>"
                    continue
                }
                let share = high > low ? (value - low) / (high - low) : 0.5
                let red: Int = Int(247 - 214 * share), green: Int = Int(251 - 150 * share), blue: Int = Int(255 - 75 * share)
                let shade = "rgb(\(red),\(green),\(blue))"
                out += "<rect class=\"cell\" x=\"\(x)\" y=\"\(coordinate(y))\" width=\"\(coordinate(cell - 2))\" height=\"\(coordinate(cellHeight - 2))\" "
                    + "fill=\"\(shade)\"/><text class=\"value\" x=\"\(coordinate(left + cell * Double(j) + cell / 2 - 1))\" "
                    + "y=\"\(coordinate(y + cellHeight / 2))\" dy=\"0.35em\" text-anchor=\"middle\"\(share > 0.6 ? " fill=\"#fff\"" : "")>"
                    + "\(String(format: value < 10 ? "%.3f" : "%.1f", value))</text>"
            }
            out += "\n"
        }
        return out + "</svg>\n"
    }
}
