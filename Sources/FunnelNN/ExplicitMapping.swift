import FunnelCore

/// One explicit mapping of an expert output (DEPHN's function decomposition, dephn.md §4.5): an element-wise
/// function applied to `o` `[B, h]`, motivated by a Taylor (trend) or Fourier (periodic) expansion.
public enum ExplicitMapping: String, Codable, CaseIterable, Sendable {
    /// RM, the raw mapping f(o) = o.
    case raw
    /// TM, the trigonometric mapping f(o) = sin(o).
    case sine
    /// The second trigonometric mapping f(o) = cos(o) (`MappingSet.rmSinCos`).
    case cosine

    /// f(o), same shape.
    public func callAsFunction(_ o: Variable) -> Variable {
        switch self {
        case .raw: return o
        case .sine: return o.sin()
        case .cosine: return o.cos()
        }
    }

    /// Short label for reports: RM, TM(sin), TM(cos).
    public var label: String {
        switch self {
        case .raw: return "RM"
        case .sine: return "TM(sin)"
        case .cosine: return "TM(cos)"
        }
    }
}

/// The mappings applied to every public expert output, in order (the `mappings` switch of dephn.md §8).
public enum MappingSet: String, Codable, CaseIterable, Sendable {
    /// RM and TM = sin, P = 2 (default).
    case rmTm
    /// RM only, P = 1.
    case rm
    /// TM = sin only, P = 1.
    case tm
    /// RM and TM = [sin, cos], P = 3.
    case rmSinCos

    public var mappings: [ExplicitMapping] {
        switch self {
        case .rmTm: return [.raw, .sine]
        case .rm: return [.raw]
        case .tm: return [.sine]
        case .rmSinCos: return [.raw, .sine, .cosine]
        }
    }
}
