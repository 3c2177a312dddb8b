import FunnelCore

// Funnel as a dependency: the kernel set chosen for this CPU, then one GEMM with the fused bias + ReLU epilogue and
// one elementwise kernel, checked against values worked out by hand.
print("Funnel kernels: \(KernelSet.selected.name) (this CPU has \(KernelSet.available.map(\.name).joined(separator: ", ")))")

let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
let b = Tensor(shape: [3, 2], values: [1, 0, 0, 1, 1, 1])
let bias = Tensor(shape: [2], values: [0.5, -8])
let c = Tensor(zeros: [2, 2])
gemm(m: 2, n: 2, k: 3, a: MatrixOperand(a.pointer, leadingDimension: 3), b: MatrixOperand(b.pointer, leadingDimension: 2),
     c: c.pointer, ldc: 2, bias: bias.pointer, activation: .relu)
let probabilities = Tensor(shape: [2], values: [0, 100]).applying(KernelSet.sigmoid)
print("relu(A·B + bias) = \(c.scalars), sigmoid([0, 100]) = \(probabilities.scalars)")
guard c.scalars == [4.5, 0, 10.5, 3], probabilities.scalars == [0.5, 1] else { fatalError("Funnel gave wrong results") }
print("ok")
