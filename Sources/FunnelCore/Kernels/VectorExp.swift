/// `e^x` for eight lanes at once (Cephes `expf`: range reduction by ln 2 split in two constants, a degree-5
/// polynomial, scaling by 2^n through the exponent bits). Maximum relative error ≈ 2 ulp against `expf` over
/// the finite range; inputs below −87.33 give 0 (where `expf` would return subnormals ≤ 1.2e-38), above 88.37
/// they are clamped (softmax only evaluates x ≤ 0).
@inline(__always)
public func exp8(_ input: SIMD8<Float>) -> SIMD8<Float> {
    let upper = SIMD8<Float>(repeating: 88.376_26), lower = SIMD8<Float>(repeating: -87.336_54)
    var x = input.replacing(with: upper, where: input .> upper)
    x.replace(with: lower, where: x .< lower)
    let n = (x * SIMD8(repeating: 1.442_695_04) + SIMD8(repeating: 0.5)).rounded(.down)
    x = x - n * SIMD8(repeating: 0.693_359_375) - n * SIMD8(repeating: -2.121_944_40e-4)
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * x + SIMD8(repeating: 1.398_199_95e-3)
    p = p * x + SIMD8(repeating: 8.333_451_91e-3)
    p = p * x + SIMD8(repeating: 4.166_579_59e-2)
    p = p * x + SIMD8(repeating: 1.666_666_55e-1)
    p = p * x + SIMD8(repeating: 5.000_000_12e-1)
    let y = p * (x * x) + x + SIMD8(repeating: 1)
    // 2^n from the exponent bits. n is integral in [−126, 128]: adding 1.5·2^23 (+127) leaves n + 127 in the low
    // mantissa bits, read back by an integer subtraction (SIMD8<Int32>(_:rounding:) is a slow generic loop).
    let biased = unsafeBitCast(n + SIMD8(repeating: 12_582_912 + 127), to: SIMD8<Int32>.self) &- 0x4B40_0000
    let scaled = y * unsafeBitCast(biased &<< 23, to: SIMD8<Float>.self)
    return scaled.replacing(with: 0, where: input .< lower)
}
