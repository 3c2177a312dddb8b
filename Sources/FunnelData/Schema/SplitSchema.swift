/// The three parts of a dataset.
public enum SplitRole: String, Codable, CaseIterable, Sendable { case train, validation, test }

/// How rows are assigned to train / validation / test.
///
/// Files listed under a role belong to it. `divide` then re-divides the rows of one role (`from`), or of every
/// source file not listed under a role, among the roles of `fractions` (or `values`):
/// - `random`: a seeded permutation (Fisher–Yates with `PortableRandom` stream 99, synthetic-data.md §8), then
///   consecutive parts of sizes round(fraction · n);
/// - `chronological`: rows sorted by the numeric `column` (stable), then consecutive parts;
/// - `column`: a row goes to the role whose `values` list holds its text in `column`; other rows are dropped
///   (and counted).
/// Without `split`, every row is training data.
public struct SplitSchema: Codable, Equatable, Sendable {
    public var train: [String]?
    public var validation: [String]?
    public var test: [String]?
    public var divide: Division?

    public init(train: [String]? = nil, validation: [String]? = nil, test: [String]? = nil, divide: Division? = nil) {
        self.train = train
        self.validation = validation
        self.test = test
        self.divide = divide
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case train, validation, test, divide }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(train: try c.decodeIfPresent([String].self, forKey: .train),
                  validation: try c.decodeIfPresent([String].self, forKey: .validation),
                  test: try c.decodeIfPresent([String].self, forKey: .test),
                  divide: try c.decodeIfPresent(Division.self, forKey: .divide))
    }

    /// The files listed under `role`.
    public func files(for role: SplitRole) -> [String] {
        switch role {
        case .train: return train ?? []
        case .validation: return validation ?? []
        case .test: return test ?? []
        }
    }

    public struct Division: Codable, Equatable, Sendable {
        public enum Method: String, Codable, Sendable { case random, chronological, column }
        /// The role whose rows are divided; nil: the rows of source files listed under no role.
        public var from: SplitRole?
        public var method: Method
        /// Fractions per role for `random` and `chronological`; normalised to sum to 1.
        public var fractions: RoleNumbers?
        public var seed: UInt64
        /// The time column (`chronological`) or the value column (`column`).
        public var column: ColumnReference?
        /// Column texts per role for `column`.
        public var values: RoleValues?

        public init(from: SplitRole? = nil, method: Method, fractions: RoleNumbers? = nil, seed: UInt64 = 0,
                    column: ColumnReference? = nil, values: RoleValues? = nil) {
            self.from = from
            self.method = method
            self.fractions = fractions
            self.seed = seed
            self.column = column
            self.values = values
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case from, method, fractions, seed, column, values }

        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(from: try c.decodeIfPresent(SplitRole.self, forKey: .from), method: try c.decode(Method.self, forKey: .method),
                      fractions: try c.decodeIfPresent(RoleNumbers.self, forKey: .fractions),
                      seed: try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0,
                      column: try c.decodeIfPresent(ColumnReference.self, forKey: .column),
                      values: try c.decodeIfPresent(RoleValues.self, forKey: .values))
        }

        func validate(schema: String) throws {
            switch method {
            case .random, .chronological:
                guard let fractions, fractions.all.allSatisfy({ $0.1.isFinite && $0.1 >= 0 }) else {
                    throw DataError.schema(schema, "split.divide: \(method.rawValue) needs non-negative fractions")
                }
                guard abs(fractions.total - 1) <= 1e-9 else {
                    throw DataError.schema(schema, "split.divide.fractions must sum to 1, got \(fractions.total) "
                                           + "(\(fractions.all.filter { $0.1 > 0 }.map { "\($0.0.rawValue) \($0.1)" }.joined(separator: " + ")))")
                }
                if method == .chronological && column == nil {
                    throw DataError.schema(schema, "split.divide: chronological needs the time column")
                }
            case .column:
                guard column != nil, values != nil else { throw DataError.schema(schema, "split.divide: column needs column and values") }
            }
        }
    }

    /// A number per role (absent roles get 0).
    public struct RoleNumbers: Codable, Equatable, Sendable {
        public var train: Double?
        public var validation: Double?
        public var test: Double?

        public init(train: Double? = nil, validation: Double? = nil, test: Double? = nil) {
            self.train = train
            self.validation = validation
            self.test = test
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case train, validation, test }

        /// Only the three roles are keys (a misspelt role is an error, not a role with no rows).
        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(train: try c.decodeIfPresent(Double.self, forKey: .train), validation: try c.decodeIfPresent(Double.self, forKey: .validation),
                      test: try c.decodeIfPresent(Double.self, forKey: .test))
        }

        var all: [(SplitRole, Double)] { [(.train, train ?? 0), (.validation, validation ?? 0), (.test, test ?? 0)] }
        var total: Double { all.reduce(0) { $0 + $1.1 } }
    }

    /// Column texts per role.
    public struct RoleValues: Codable, Equatable, Sendable {
        public var train: [String]?
        public var validation: [String]?
        public var test: [String]?

        public init(train: [String]? = nil, validation: [String]? = nil, test: [String]? = nil) {
            self.train = train
            self.validation = validation
            self.test = test
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case train, validation, test }

        /// Only the three roles are keys (a misspelt role is an error).
        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(train: try c.decodeIfPresent([String].self, forKey: .train),
                      validation: try c.decodeIfPresent([String].self, forKey: .validation),
                      test: try c.decodeIfPresent([String].self, forKey: .test))
        }

        var all: [(SplitRole, [String])] { [(.train, train ?? []), (.validation, validation ?? []), (.test, test ?? [])] }
    }
}
