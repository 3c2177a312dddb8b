extension FeatureMap {
    /// Fits vocabularies, numeric statistics and bucket edges on `rows` of `table` (the training split; default
    /// every row).
    public static func fit(_ table: RawTable, rows: [Int]? = nil) throws -> FeatureMap {
        let rows = rows ?? Array(0..<table.rowCount)
        let plan = table.plan, schema = plan.schema
        let vocabularies = try plan.groups.indices.map { g in try fitVocabulary(group: g, table: table, rows: rows) }
        var fitted: [FittedFeature] = []
        var vocabularySizes: [Int] = [], fieldNames: [String] = [], widths: [Int] = [], categoricalOwners: [Int] = []
        var bags: [MultiValuedField] = [], bagNames: [String] = [], bagWidths: [Int] = [], bagOwners: [String] = []
        var numericCount = 0
        for (f, feature) in schema.features.enumerated() {
            var result = FittedFeature(name: feature.name, output: .categorical, index: 0)
            switch plan.sources[f] {
            case .categorical(let s):
                let group = plan.categorical[s].group
                result.index = vocabularySizes.count
                setVocabulary(&result, feature: feature, vocabulary: vocabularies[group])
                vocabularySizes.append(result.cardinality!)
                categoricalOwners.append(f)
            case .tokens(let s):
                result.output = .multiValued
                result.index = bags.count
                setVocabulary(&result, feature: feature, vocabulary: vocabularies[plan.tokens[s].group])
                bags.append(MultiValuedField(vocabularySize: result.cardinality!, pooling: feature.pooling))
                bagNames.append(feature.name)
                bagWidths.append(feature.embeddingSize ?? 0)
                bagOwners.append(feature.shareEmbedding ?? feature.name)
                fitted.append(result)
                continue
            case .numeric(let s):
                let values = rows.map { table.numeric[s][$0] }
                try fitNumeric(&result, feature: feature, values: values, schema: schema.name)
                if feature.isBucketized {
                    result.index = vocabularySizes.count
                    vocabularySizes.append(result.cardinality!)
                    categoricalOwners.append(f)
                } else {
                    result.output = .numeric
                    result.index = numericCount
                    numericCount += 1
                    fitted.append(result)
                    continue
                }
            }
            fieldNames.append(feature.name)
            widths.append(feature.embeddingSize ?? 0)
            fitted.append(result)
        }
        // Embedding owners: a field sharing another feature's vocabulary reads that feature's field's table.
        let allNames = fieldNames + bagNames
        let ownerNames = categoricalOwners.map { schema.features[$0].shareEmbedding ?? schema.features[$0].name } + bagOwners
        let owners = ownerNames.enumerated().map { field, owner in allNames.firstIndex(of: owner) ?? field }
        let allWidths = widths + bagWidths
        let layout = FeatureLayout(
            vocabularySizes: vocabularySizes, multiValued: bags, numericCount: numericCount, fieldNames: allNames,
            embeddingWidths: allWidths.allSatisfy { $0 == 0 } ? nil : allWidths,
            embeddingOwners: owners == Array(owners.indices) ? nil : owners)
        return FeatureMap(schema: schema, plan: plan, features: fitted, layout: layout, tasks: try schema.taskSpecs())
    }

    private static func setVocabulary(_ result: inout FittedFeature, feature: FeatureSchema, vocabulary: [String]) {
        if let buckets = feature.hashBuckets {
            result.hashBuckets = buckets
            result.cardinality = buckets + 1
        } else if let owner = feature.shareEmbedding {
            result.sharesVocabularyOf = owner
            result.cardinality = vocabulary.count + 1
        } else {
            result.vocabulary = vocabulary
            result.cardinality = vocabulary.count + 1
        }
    }

    /// The vocabulary of group `g`: values counted over every column of the group on `rows`, those seen at least
    /// `minCount` times, most frequent first (ties in byte order), at most `maxVocabulary`.
    private static func fitVocabulary(group g: Int, table: RawTable, rows: [Int]) throws -> [String] {
        let plan = table.plan
        guard let owner = plan.schema.features.first(where: { $0.name == plan.groups[g] }), owner.needsVocabulary else { return [] }
        var counts = [Int](repeating: 0, count: table.interners[g].count)
        for (s, slot) in plan.categorical.enumerated() where slot.group == g {
            let raw = table.categorical[s]
            for row in rows where raw[row] >= 0 { counts[Int(raw[row])] += 1 }
        }
        for (s, slot) in plan.tokens.enumerated() where slot.group == g {
            let (offsets, ids) = table.tokens[s]
            for row in rows {
                for p in Int(offsets[row])..<Int(offsets[row + 1]) { counts[Int(ids[p])] += 1 }
            }
        }
        let interner = table.interners[g]
        var kept = counts.indices.filter { counts[$0] >= owner.minCount }.map { (key: interner.key($0), count: counts[$0]) }
        kept.sort { $0.count != $1.count ? $0.count > $1.count : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        if let limit = owner.maxVocabulary { kept = Array(kept.prefix(limit)) }
        return kept.map(\.key)
    }

    /// Fill value, transform statistics and bucket edges of a numeric feature from its training values.
    private static func fitNumeric(_ result: inout FittedFeature, feature: FeatureSchema, values: [Double], schema: String) throws {
        let present = values.filter { !$0.isNaN }
        switch feature.fillNA {
        case nil: break
        case .value(let constant)?: result.fill = constant
        case let rule?:
            guard !present.isEmpty else {
                throw DataError.schema(schema, "feature '\(feature.name)': no training values to compute the fill value from")
            }
            result.fill = rule == .mean ? present.reduce(0, +) / Double(present.count) : median(present)
        }
        try fitNumericScale(&result, feature: feature, values: values, present: present, schema: schema)
    }

    private static func fitNumericScale(_ result: inout FittedFeature, feature: FeatureSchema, values: [Double], present: [Double],
                                        schema: String) throws {
        if let boundaries = feature.boundaries {
            result.edges = boundaries
            result.cardinality = boundaries.count + 2
            return
        }
        if let buckets = feature.buckets {
            let sorted = present.sorted()
            guard !sorted.isEmpty else { throw DataError.schema(schema, "feature '\(feature.name)': no training values for bucket edges") }
            var edges: [Double] = []
            for q in 1..<buckets {
                let edge = sorted[min(sorted.count - 1, q * sorted.count / buckets)]
                if edges.last != edge { edges.append(edge) }
            }
            result.edges = edges
            result.cardinality = edges.count + 2
            return
        }
        result.transform = feature.transform
        let logged = feature.transform == .log1p || feature.transform == .log1pStandardize
        let filled = values.map { v -> Double in
            let x = v.isNaN ? result.fill ?? v : v
            return logged ? signedLog1p(x) : x
        }
        switch feature.transform {
        case .none, .log1p:
            break
        case .standardize, .log1pStandardize:
            guard !filled.isEmpty else { throw DataError.schema(schema, "feature '\(feature.name)': no training values to standardize") }
            let mean = filled.reduce(0, +) / Double(filled.count)
            let variance = filled.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(filled.count)
            result.shift = mean
            result.scale = variance > 0 ? variance.squareRoot() : 1
        case .minMax:
            guard let low = filled.min(), let high = filled.max() else {
                throw DataError.schema(schema, "feature '\(feature.name)': no training values for min-max scaling")
            }
            result.shift = low
            result.scale = high > low ? high - low : 1
        }
    }

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted(), n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}
