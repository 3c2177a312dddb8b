/// A model whose forward pass depends on how far training has got (temperature annealing of a relaxed sample,
/// warm-ups). Trainers check for this protocol and call `trainingProgress(step:epoch:)` before every training
/// step; evaluation uses whatever state the last call left.
public protocol TrainingScheduleAware: AnyObject {
    /// - Parameters:
    ///   - step: optimiser steps taken so far (0 before the first step).
    ///   - epoch: 0-based epoch the coming step belongs to.
    func trainingProgress(step: Int, epoch: Int)
}
