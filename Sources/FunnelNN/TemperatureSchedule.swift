#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A step-wise exponential temperature schedule for relaxed sampling (Gumbel-softmax):
/// `τ(step) = max(minimum, initial · decay^⌊step / interval⌋)`, `step` = optimiser steps taken so far.
///
/// Defaults (HTLNet, `htlnet.md` §3.3, from a third-party reimplementation): τ₀ = 10, ×0.9 every 5,000 steps,
/// floor 0.5 — the floor is reached after 29 decays (145,000 steps).
public struct TemperatureSchedule: Codable, Equatable, Sendable {
    public var initial: Float
    public var decay: Float
    /// Optimiser steps between two decays (≥ 1).
    public var interval: Int
    public var minimum: Float

    public init(initial: Float = 10, decay: Float = 0.9, interval: Int = 5_000, minimum: Float = 0.5) {
        precondition(initial > 0 && minimum > 0 && decay > 0 && interval >= 1, "invalid temperature schedule")
        self.initial = initial
        self.decay = decay
        self.interval = interval
        self.minimum = minimum
    }

    /// A schedule that stays at `temperature`.
    public static func constant(_ temperature: Float) -> TemperatureSchedule {
        TemperatureSchedule(initial: temperature, decay: 1, interval: 1, minimum: temperature)
    }

    /// τ after `step` optimiser steps (evaluated in Float64, rounded once).
    public func temperature(atStep step: Int) -> Float {
        let decays = Double(max(step, 0) / interval)
        return Float(max(Double(minimum), Double(initial) * pow(Double(decay), decays)))
    }
}
