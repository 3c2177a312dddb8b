import ArgumentParser
import Foundation
import FunnelCore
import FunnelData
import FunnelModels
import FunnelMPI
import FunnelTrain

/// `funnel-mpi`: Funnel's data-parallel face on Open MPI (`mpirun -np N funnel-mpi train … --distributed`). A separate
/// executable, so `funnel` and the library build without MPI. Parses and prints only; the work is
/// `TrainingRun` with `Trainer.dataParallel` = `MPIGroup`.
struct FunnelMPICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "funnel-mpi", abstract: "Data-parallel training on Open MPI.", subcommands: [Train.self])
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one model on synthetic data; with --distributed, data-parallel over the mpirun ranks.")

    @Option(help: "Registry model.") var model = "mmoe"
    @Option(help: "Partial JSON configuration of the model.") var modelConfig: String?
    @Option(help: "Synthetic generator: funnel or correlated.") var synthetic = SyntheticRecipe.Generator.funnel
    @Option(help: "Rows in all, split 80/10/10.") var rows = 20_000
    @Option(help: "Synthetic funnel preset.") var preset: String?
    @Option(help: "Synthetic correlated: binary labels with this positive rate.") var binary: Double?
    @Option(help: "Synthetic funnel: id fields with a Zipf law over this many values.") var ids: Int?
    @Option(help: "Zipf exponent of the id fields.") var zipf = 1.1
    @Option(help: "Hash buckets of the id fields (default: direct ids).") var idBuckets: Int?
    @Option(help: "Rows per step per rank (global batch: ranks × this).") var batchSize = 512
    @Option(help: "Maximum epochs.") var epochs = 3
    @Option(help: "Learning rate (Adam).") var learningRate: Float = 1e-3
    @Option(help: "Seed of the model and the run.") var seed: UInt64 = 0
    @Option(help: "Write rank 0's checkpoint here.") var checkpoint: String?
    @Option(help: "Write this rank's final parameters and buffers (little-endian Float32, model order) to PREFIX.rank<r>.bin.")
    var dumpParameters: String?
    @Flag(help: "Data-parallel over the ranks mpirun started (otherwise one process).") var distributed = false

    func run() throws {
        let group: MPIGroup? = distributed ? MPIGroup() : nil
        defer { group?.finalize() }
        let rank = group?.rank ?? 0
        let recipe = SyntheticRecipe(
            generator: synthetic, rows: rows, preset: preset, binaryRate: binary,
            idFields: ids.map { IdFieldConfiguration(vocabulary: $0, zipfExponent: zipf, buckets: idBuckets) })
        let data = try recipe.makeData()
        var training = TrainingConfiguration()
        training.batchSize = batchSize
        training.epochs = epochs
        training.seed = seed
        training.optimizer.learningRate = learningRate
        var choice = try RunConfiguration.ModelChoice(parsing: model)
        if let modelConfig { choice.configuration = try JSONDecoder().decode(JSONValue.self, from: Data(modelConfig.utf8)) }
        var run = TrainingRun(choice: choice, training: training)
        run.dataParallel = group
        let started = Date()
        let outcome = try run.run(on: data, log: try TrainingLog(jsonlURL: nil, showProgress: false))
        let seconds = Date().timeIntervalSince(started)
        if let dumpParameters {
            let scalars = (outcome.trained.model.parameters + outcome.trained.model.buffers).flatMap(\.value.scalars)
            try scalars.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: "\(dumpParameters).rank\(rank).bin"))
        }
        // The same weights evaluated over the ranks (gathered) and by one process: the two must agree exactly.
        let evaluation = Evaluator(batchSize: training.evaluationBatchSize, targetScalings: outcome.trained.metadata.targetScalings)
        var gathered = evaluation
        gathered.group = group
        let overRanks = try gathered.evaluate(outcome.trained.model, on: data.validation, tasks: data.tasks)
        guard rank == 0 else { return }
        let alone = try evaluation.evaluate(outcome.trained.model, on: data.validation, tasks: data.tasks)
        if let checkpoint { try outcome.trained.write(to: URL(fileURLWithPath: checkpoint)) }
        let ranks = group?.size ?? 1
        var report: [String: Double] = [
            "ranks": Double(ranks), "steps": Double(outcome.summary.steps), "seconds": seconds,
            "samplesPerSecond": Double(outcome.summary.steps * batchSize * ranks) / seconds,
        ]
        if let times = outcome.communication {
            report["denseMillisecondsPerStep"] = times.denseSecondsPerStep * 1000
            report["sparseMillisecondsPerStep"] = times.sparseSecondsPerStep * 1000
        }
        for (task, values) in outcome.summary.validation { for (name, value) in values { report["validation.\(task).\(name)"] = value } }
        for (task, values) in overRanks.metrics { for (name, value) in values { report["final.validation.\(task).\(name)"] = value } }
        for (task, values) in alone.metrics { for (name, value) in values { report["final.single.\(task).\(name)"] = value } }
        for (task, values) in outcome.test.metrics { for (name, value) in values { report["test.\(task).\(name)"] = value } }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    }
}

extension SyntheticRecipe.Generator: ExpressibleByArgument {}

FunnelMPICommand.main()
