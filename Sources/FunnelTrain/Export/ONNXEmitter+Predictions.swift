import FunnelCore
import FunnelData
import FunnelModels

/// Heads read as `predictions(of:scaling:)` reads them (`Losses/Predictions.swift`), as ONNX nodes: the two must
/// agree, and `ONNXExportTests` checks that they do to 1e-5 on every registry model.
extension ONNXEmitter {
    /// Appends the nodes computing `head`'s prediction `[batch]` into the value `output`.
    mutating func prediction(of head: TaskHead, scaling: TargetScaling, named output: String) throws {
        let value = { (emitter: inout ONNXEmitter, v: Variable) in emitter.name(of: v.node!) }
        switch head {
        case .logit(let z):
            graph.add("Sigmoid", [value(&self, z)], output: output)
        case .chain(let steps):
            let probabilities = steps.map { graph.add("Sigmoid", [value(&self, $0)]) }
            var product = probabilities[0]
            for (i, p) in probabilities.enumerated().dropFirst() {
                product = graph.add("Mul", [product, p], output: i == probabilities.count - 1 ? output : nil)
            }
            if probabilities.count == 1 { graph.add("Identity", [product], output: output) }
        case .probability(let p):
            graph.add("Identity", [value(&self, p)], output: output)
        case .value(let y):
            inverted(value(&self, y), scaling, output: output)
        case .zeroInflatedLognormal(let z):
            zeroInflatedLognormalMean(value(&self, z), output: output)
        }
    }

    /// `TargetScaling.inverted`, in double precision as Funnel computes it.
    private mutating func inverted(_ y: String, _ scaling: TargetScaling, output: String) {
        guard scaling.transform != .none else {
            graph.add("Identity", [y], output: output)
            return
        }
        var x = graph.add("Cast", [y], [("to", .int(ONNXElementType.double.rawValue))])
        if scaling.transform == .standardize || scaling.transform == .log1pStandardize {
            x = graph.add("Add", [graph.add("Mul", [x, graph.double(scaling.scale)]), graph.double(scaling.mean)])
        }
        if scaling.transform == .log1p || scaling.transform == .log1pStandardize {
            x = graph.add("Sub", [graph.add("Exp", [x]), graph.double(1)])
        }
        graph.add("Cast", [x], [("to", .int(ONNXElementType.float.rawValue))], output: output)
    }

    /// `ZeroInflatedLognormal.mean` with its default exponent cap: σ(a) · exp(min(μ + softplus(s)²/2, 20)).
    private mutating func zeroInflatedLognormalMean(_ z: String, output: String) {
        let column = { (emitter: inout ONNXEmitter, c: Int) in
            emitter.graph.add("Slice", [z, emitter.graph.ints([c]), emitter.graph.ints([c + 1]), emitter.graph.ints([1])])
        }
        let (a, mu, raw) = (column(&self, 0), column(&self, 1), column(&self, 2))
        let sigma = graph.add("Softplus", [raw])
        let exponent = graph.add("Add", [mu, graph.add("Div", [graph.add("Mul", [sigma, sigma]), graph.scalar(2)])])
        let capped = graph.add("Min", [exponent, graph.scalar(20)])
        let mean = graph.add("Mul", [graph.add("Sigmoid", [a]), graph.add("Exp", [capped])])
        graph.add("Reshape", [mean, graph.ints([-1])], output: output)
    }
}
