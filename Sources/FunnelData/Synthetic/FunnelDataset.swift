import Foundation
import FunnelCore

/// Realised rates and solved biases of a funnel dataset.
public struct FunnelStatistics: Codable, Equatable, Sendable {
    public var rows: Int
    public var clicks: Int
    public var conversions: Int
    /// Clicks / rows.
    public var clickRate: Double
    /// Conversions / clicks (CVR over the clicked space).
    public var conversionRateOnClicks: Double
    /// Conversions / rows.
    public var ctcvrRate: Double
    /// b_c and b_v, solved by bisection.
    public var clickBias: Double, conversionBias: Double
    /// Mean ground-truth p_cvr over all impressions and over clicked rows (the gap is the selection bias).
    public var meanCVRProbability: Double, meanCVRProbabilityOnClicks: Double

    public var summary: String {
        String(format: "rows %d, clicks %d (CTR %.4f), conversions %d (CVR on clicks %.4f, CTCVR %.4f); b_c %.6f, b_v %.6f; "
               + "mean p_cvr %.4f over impressions vs %.4f over clicks",
               rows, clicks, clickRate, conversions, conversionRateOnClicks, ctcvrRate, clickBias, conversionBias,
               meanCVRProbability, meanCVRProbabilityOnClicks)
    }
}

/// Data of the funnel generator (synthetic-data.md §5): nested click ⊇ conversion ⊇ positive amount with ground
/// truth. Addressed by `PortableRandom`, so `bench/funnel_synth.py` (`funnel`) produces the same data.
public struct FunnelDataset: Sendable {
    public let configuration: FunnelConfiguration
    public let seed: UInt64
    public var rowCount: Int { configuration.rows }
    /// V_f per field (categorical, then id fields) and the first global index of each categorical field
    /// (exclusive cumulative sum).
    public let vocabularySizes: [Int], offsets: [Int]
    /// Categorical ids per field (no offsets), then the id fields', `[n · (F + idFields)]`.
    public let categorical: [Int32]
    /// Dense features, `[n · D]`.
    public let dense: [Double]
    /// Latent scores U_k (k = click, conversion, amount), `[n · 3]`.
    public let scores: [Double]
    /// Ground-truth click probability σ(b_c + U_0) and counterfactual CVR σ(b_v + U_1), for every impression.
    public let clickProbability: [Double], conversionProbability: [Double]
    /// μ: log-amount location; the expected amount given conversion is exp(μ + σ_A²/2).
    public let amountLocation: [Double]
    /// Entire-space labels: conversion = 1 implies click = 1.
    public let click: [UInt8], conversion: [UInt8]
    /// ≥ 0, and > 0 exactly when conversion = 1.
    public let amount: [Double]
    public let statistics: FunnelStatistics

    /// Generates the rows; throws on an invalid configuration.
    public init(configuration: FunnelConfiguration = .default, seed: UInt64 = 0) throws {
        try configuration.validate()
        let c = configuration, n = c.rows, fields = c.categoricalFields, width = c.denseFeatures
        let informative = c.resolvedInformativeFields
        self.configuration = c
        self.seed = seed
        let sizes = (0..<fields).map { f in
            min(Int((10 * pow(100, PortableRandom.uniform(seed: seed, stream: 100, index: UInt64(f)))).rounded(.down)), 999)
        }
        var running = 0
        let offsets = sizes.map { v in defer { running += v }; return running }
        let shared = (0..<running).map { PortableRandom.normal(seed: seed, stream: 103, index: UInt64($0)) }
        let specific = (0..<3).map { k in (0..<running).map { PortableRandom.normal(seed: seed, stream: 104 + UInt64(k), index: UInt64($0)) } }
        let denseWeights = (0..<3).map { k in (0..<width).map { PortableRandom.normal(seed: seed, stream: 107 + UInt64(k), index: UInt64($0)) } }

        let idFields = c.idFields?.count ?? 0, stride = fields + idFields
        let sampler = c.idFields.map { ZipfSampler(n: $0.vocabulary, exponent: $0.zipfExponent) }
        var ids = [Int32](repeating: 0, count: n * stride), x = [Double](repeating: 0, count: n * width)
        var u = [Double](repeating: 0, count: n * 3)
        let rootInformative = Double(informative).squareRoot(), rootWidth = Double(width).squareRoot()
        for r in 0..<n {
            for f in 0..<fields {
                let draw = PortableRandom.uniform(seed: seed, stream: 101, index: UInt64(r * fields + f))
                let skewed = c.skew == 2 ? draw * draw : pow(draw, c.skew)
                ids[r * stride + f] = Int32(min(Int((Double(sizes[f]) * skewed).rounded(.down)), sizes[f] - 1))
            }
            var idEffect = 0.0
            if let idConfiguration = c.idFields, let sampler {
                for f in 0..<idFields {
                    let (stored, raw) = idConfiguration.draw(seed: seed, field: f, row: r, sampler: sampler)
                    ids[r * stride + fields + f] = stored
                    idEffect += idConfiguration.effect(seed: seed, field: f, raw: raw)
                }
                idEffect *= idConfiguration.strength / Double(idFields).squareRoot()
            }
            for j in 0..<width { x[r * width + j] = PortableRandom.normal(seed: seed, stream: 102, index: UInt64(r * width + j)) }
            var s = 0.0, e = [0.0, 0.0, 0.0]
            for f in 0..<informative {
                let g = offsets[f] + Int(ids[r * stride + f])
                s += shared[g]
                for k in 0..<3 { e[k] += specific[k][g] }
            }
            let x0 = x[r * width], x1 = x[r * width + 1], x2 = x[r * width + 2]
            let nonlinear = [c.interactionStrength * tanh(x0 * x1), c.interactionStrength * (x2 * x2 - 1) / 2.0.squareRoot(), 0]
            let pair = UInt64(Int(ids[r * stride]) * 1000 + Int(ids[r * stride + 1]))
            for k in 0..<3 {
                var linear = 0.0
                for j in 0..<width { linear += denseWeights[k][j] * x[r * width + j] }
                let rho = c.sharedLoading[k]
                var score = c.latentScale[k] * (rho * (s / rootInformative) + (1 - rho * rho).squareRoot() * (e[k] / rootInformative))
                    + c.denseWeight[k] * (linear / rootWidth) + nonlinear[k]
                if k < 2 { score += idEffect }
                if k < 2, c.crossStrength != 0 {
                    score += c.crossStrength * PortableRandom.normal(seed: seed, stream: 112 + UInt64(k), index: pair)
                }
                u[r * 3 + k] = score
            }
        }
        let clickScores = (0..<n).map { u[$0 * 3] }
        let clickBias = baseRateBias(scores: clickScores, target: c.clickRate)
        let pClick = clickScores.map { stableSigmoid(clickBias + $0) }
        let click = (0..<n).map { r -> UInt8 in PortableRandom.uniform(seed: seed, stream: 110, index: UInt64(3 * r)) < pClick[r] ? 1 : 0 }
        let clicked = (0..<n).filter { click[$0] == 1 }
        guard !clicked.isEmpty else { throw SyntheticDataError.invalidConfiguration("no clicks: too few rows for the click rate") }
        let conversionBias = baseRateBias(scores: clicked.map { u[$0 * 3 + 1] }, target: c.conversionRate)
        let pCVR = (0..<n).map { stableSigmoid(conversionBias + u[$0 * 3 + 1]) }
        let conversion = (0..<n).map { r -> UInt8 in
            click[r] == 1 && PortableRandom.uniform(seed: seed, stream: 110, index: UInt64(3 * r + 1)) < pCVR[r] ? 1 : 0
        }
        let mu = (0..<n).map { log(c.amountScale) + u[$0 * 3 + 2] }
        let amount = (0..<n).map { r in
            conversion[r] == 1 ? exp(mu[r] + c.amountNoise * PortableRandom.normal(seed: seed, stream: 111, index: UInt64(r))) : 0
        }

        vocabularySizes = sizes + Array(repeating: c.idFields?.fieldVocabulary ?? 0, count: idFields)
        self.offsets = offsets
        categorical = ids
        dense = x
        scores = u
        clickProbability = pClick
        conversionProbability = pCVR
        amountLocation = mu
        self.click = click
        self.conversion = conversion
        self.amount = amount
        let clicks = clicked.count, conversions = conversion.reduce(0) { $0 + Int($1) }
        statistics = FunnelStatistics(
            rows: n, clicks: clicks, conversions: conversions, clickRate: Double(clicks) / Double(n),
            conversionRateOnClicks: Double(conversions) / Double(clicks), ctcvrRate: Double(conversions) / Double(n),
            clickBias: clickBias, conversionBias: conversionBias, meanCVRProbability: pCVR.reduce(0, +) / Double(n),
            meanCVRProbabilityOnClicks: clicked.reduce(0) { $0 + pCVR[$1] } / Double(clicks))
    }

    /// p_click · p_cvr for every impression.
    public var ctcvrProbability: [Double] { zip(clickProbability, conversionProbability).map { $0 * $1 } }

    /// p_ctcvr · exp(μ + σ_A²/2): the expected amount of every impression.
    public var expectedAmount: [Double] {
        let halfVariance = configuration.amountNoise * configuration.amountNoise / 2
        return (0..<rowCount).map { clickProbability[$0] * conversionProbability[$0] * exp(amountLocation[$0] + halfVariance) }
    }

    /// `ctr` (label `click`, every impression), `cvr` (label `conv`, entire-space form, loss and evaluation over
    /// clicked rows, parent `ctr`), `amount` (label `amount`, every impression, parent `cvr`, loss
    /// `configuration.amountLoss`). A CTCVR task over every impression reads the `conv` column too.
    public var tasks: [TaskSpec] {
        [TaskSpec(name: "ctr", kind: .binary, label: "click"),
         TaskSpec(name: "cvr", kind: .binary, label: "conv", parent: "ctr", lossSpace: .whereLabel("ctr"),
                  evaluationSpace: .whereLabel("ctr")),
         TaskSpec(name: "amount", kind: .continuous, label: "amount", parent: "cvr", loss: configuration.amountLoss)]
    }

    /// Field names `cat0…` of the categorical fields, then `id0…` of the id fields; dense columns are `dense0…`.
    public var fieldNames: [String] {
        (0..<configuration.categoricalFields).map { "cat\($0)" } + (0..<(configuration.idFields?.count ?? 0)).map { "id\($0)" }
    }

    /// Model-ready rows: F categorical fields, D numeric features (Float32), labels click, conv, amount.
    public var table: EncodedTable {
        var labels = [Float](repeating: 0, count: rowCount * 3)
        for r in 0..<rowCount {
            labels[r * 3] = Float(click[r])
            labels[r * 3 + 1] = Float(conversion[r])
            labels[r * 3 + 2] = Float(amount[r])
        }
        return EncodedTable(
            layout: FeatureLayout(vocabularySizes: vocabularySizes, numericCount: configuration.denseFeatures, fieldNames: fieldNames),
            tasks: tasks, rowCount: rowCount, ids: categorical, numeric: dense.map(Float.init), labels: labels)
    }

    /// 80 / 10 / 10 by row index (synthetic-data.md §8).
    public var splits: RowSplits { .byIndex(rowCount: rowCount) }

    /// Writes `cat0…`, `id0…`, `dense0…`, `click`, `conv`, `amount` as CSV (raw ids and Float64 values); with
    /// `groundTruth`, also `p_click`, `p_cvr`, `p_ctcvr`, `mu_amount`, `expected_amount`.
    public func writeCSV(to url: URL, groundTruth: Bool = false, overwrite: Bool = false) throws {
        let names = fieldNames, width = configuration.denseFeatures
        var columns = names.indices.map { CSVColumn.integers(names[$0], categorical, stride: names.count, offset: $0) }
        columns += (0..<width).map { CSVColumn.reals("dense\($0)", dense, stride: width, offset: $0) }
        columns += [.integers("click", click), .integers("conv", conversion), .reals("amount", amount)]
        if groundTruth {
            columns += [.reals("p_click", clickProbability), .reals("p_cvr", conversionProbability),
                        .reals("p_ctcvr", ctcvrProbability), .reals("mu_amount", amountLocation),
                        .reals("expected_amount", expectedAmount)]
        }
        try FunnelData.writeCSV(columns: columns, rows: rowCount, to: url, overwrite: overwrite)
    }
}
