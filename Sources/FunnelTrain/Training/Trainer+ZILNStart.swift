import Foundation
import FunnelData
import FunnelModels

extension Trainer {
    /// Gives a `ZeroInflatedLognormalStart` model the log-amount statistics of its ZILN tasks on `train`.
    func startZeroInflatedLognormalHeads(on train: EncodedTable) {
        guard let model = ((model as? AnyMultiTaskModel)?.model ?? model) as? ZeroInflatedLognormalStart else { return }
        var statistics: [String: LogAmountStatistics] = [:]
        for (t, task) in tasks.enumerated() where task.loss == .zeroInflatedLognormal {
            guard let column = train.tasks.firstIndex(where: { $0.name == task.name }) else { continue }
            let width = train.tasks.count
            let logs = (0..<train.rowCount).compactMap { row -> Double? in
                let y = Double(train.labels[row * width + column])
                return y > 0 ? Foundation.log(y) : nil
            }
            guard logs.count >= 2 else { continue }
            let (mean, std) = meanAndStd(logs)
            statistics[tasks[t].name] = LogAmountStatistics(mean: Float(mean), std: Float(std))
        }
        if !statistics.isEmpty { model.startZeroInflatedLognormal(at: statistics) }
    }
}
