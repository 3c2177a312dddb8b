import ArgumentParser
import Foundation
import FunnelModels
import FunnelTrain

/// `funnel tune`: an equal-budget hyperparameter search per model, then the tuned comparison.
struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tune every model with the same budget (random search, successive halving), then compare the tuned models.",
        discussion: """
            Each model draws --trials configurations from its search space (derived from its default configuration: learning \
            rate, embedding width, layer widths, dropout, batch norm, weight decay, loss balancing; --space adjusts it). All \
            trials train --min-epochs epochs; the best 1/--eta by the validation monitor go on to --eta times the epochs, up \
            to --epochs. Selection reads the validation split only. Each model's best configuration is retrained with every \
            seed and scored once on test. DIR receives trials.jsonl (as trials finish; --resume continues a killed tune), \
            search.md, tune.md (the table, paired t-tests against --baseline, the budget), best/<model>.yaml (run files for \
            funnel compare/train --config) and comparison.md/.json/.svg.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var training: TrainingOptions

    @Option(help: ArgumentHelp("Models, comma-separated: registry names or label=name.", valueName: "list"))
    var models: String?

    @Option(help: ArgumentHelp("A partial JSON configuration for one model, pinned during the search: label=JSON (repeatable).",
                               valueName: "label=json"))
    var modelConfig: [String] = []

    @Option(help: "Trials per model.")
    var trials = 9

    @Option(help: "Successive halving: keep the best 1/eta per rung and multiply the epochs by eta.")
    var eta = 3

    @Option(help: "Epochs of the first rung (the last gets --epochs).")
    var minEpochs = 1

    @Option(help: "Seed of the trial draws and of every trial's training.")
    var searchSeed: UInt64 = 0

    @Option(help: ArgumentHelp("A YAML search-space file (all: / models: keys to dimensions) over the defaults.", valueName: "space.yaml"))
    var space: String?

    @Option(help: ArgumentHelp("Seeds of the final runs, comma-separated.", valueName: "list"))
    var seeds: String?

    @Option(help: "The model the paired differences are taken against (default: the first).")
    var baseline: String?

    @Option(help: ArgumentHelp("Output directory.", valueName: "dir"))
    var out: String

    @Flag(help: "Continue the tune whose trials.jsonl is in --out (trials it holds are not trained again).")
    var resume = false

    func run() throws {
        var overrides = try modelOverrides(models: models, modelConfig: modelConfig)
        overrides.seeds = try seeds.map(parseSeeds)
        let (run, base) = try training.runConfiguration(overrides, data: data)
        guard let dataSpecification = run.data else { throw ValidationError("no data: give --data, --synthetic or a run file with `data:`") }
        if let baseline, !run.models.map(\.displayName).contains(baseline) {
            throw ValidationError("--baseline \(baseline) is not one of the models \(run.models.map(\.displayName))")
        }
        let experiment = try dataSpecification.load(relativeTo: base)
        printError(experiment.summary)
        let tuner = try Tuner(run: run, settings: TuningSettings(trials: trials, eta: eta, minEpochs: minEpochs, searchSeed: searchSeed),
                              spaceFile: try space.map { try SpaceFile.load(from: URL(fileURLWithPath: $0)) }, tasks: experiment.tasks)
        let directory = URL(fileURLWithPath: out)
        let outcome = try tuner.tune(experiment, output: directory, resume: resume, progress: { printError($0.line) })
        print(outcome.markdown(baseline: baseline))
        for file in try outcome.write(to: directory, baseline: baseline, dataBase: base) { printError("wrote \(file.path)") }
    }
}
