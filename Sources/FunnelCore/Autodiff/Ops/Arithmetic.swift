/// Elementwise arithmetic with broadcasting of row vectors (`[N]`), column vectors (`[..., 1]`) and scalars.
extension Variable {
    private static func binary(
        _ op: TracedOpKind, _ a: Variable, _ b: Variable, value: Tensor,
        _ grads: @escaping (_ g: Tensor) -> (Tensor?, Tensor?)
    ) -> Variable {
        let shape = value.shape
        let (aShape, bShape) = (a.shape, b.shape)
        let aRole = BroadcastRole.of(aShape, in: shape)!, bRole = BroadcastRole.of(bShape, in: shape)!
        return record(value, inputs: [a, b], op: op) { g, needs in
            let (ga, gb) = grads(g)
            return [needs[0] ? ga.map { reduceGradient($0, to: aShape, role: aRole) } : nil,
                    needs[1] ? gb.map { reduceGradient($0, to: bShape, role: bRole) } : nil]
        }
    }

    public static func + (a: Variable, b: Variable) -> Variable {
        binary(.add, a, b, value: a.value + b.value) { g in (g, g) }
    }

    public static func - (a: Variable, b: Variable) -> Variable {
        binary(.subtract, a, b, value: a.value - b.value) { g in (g, g.scaled(by: -1)) }
    }

    public static func * (a: Variable, b: Variable) -> Variable {
        let (x, y) = (a.value, b.value)
        return binary(.multiply, a, b, value: x * y) { g in (g * y, g * x) }
    }

    public static func / (a: Variable, b: Variable) -> Variable {
        let (x, y) = (a.value, b.value)
        let out = x / y
        return binary(.divide, a, b, value: out) { g in
            (g / y, Tensor.broadcasting(g * out, y, { -$0 / $1 }, { -$0 / $1 }))
        }
    }

    public static prefix func - (a: Variable) -> Variable { a * -1 }

    public static func * (a: Variable, factor: Float) -> Variable {
        record(a.value.scaled(by: factor), inputs: [a], op: .scale(factor)) { g, _ in [g.scaled(by: factor)] }
    }

    public static func * (factor: Float, a: Variable) -> Variable { a * factor }

    public static func + (a: Variable, constant: Float) -> Variable {
        let c = SIMD8<Float>(repeating: constant)
        return record(a.value.map({ $0 + c }, { $0 + constant }), inputs: [a], op: .shift(constant)) { g, _ in [g] }
    }

    public static func - (a: Variable, constant: Float) -> Variable { a + (-constant) }

    public static func - (constant: Float, a: Variable) -> Variable { (a * -1) + constant }
}
