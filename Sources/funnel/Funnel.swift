import ArgumentParser
import FunnelData

/// The `funnel` command: multi-task learning of multi-step conversions.
@main
struct Funnel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "funnel",
        abstract: "Multi-task learning of multi-step conversions (impression → click → conversion → amount).",
        subcommands: [Compare.self, Tune.self, Train.self, Report.self, Eval.self, Predict.self, Serve.self, Export.self, Bench.self,
                      DataCommand.self, Synth.self])

    /// Runs the chosen subcommand (`funnel serve` on Swift concurrency, the others synchronously) and words any error
    /// that carries no text of its own (Foundation file errors, decoding errors) with `ErrorText`.
    static func main() async {
        var command: ParsableCommand
        do { command = try parseAsRoot() } catch { exit(withError: error) }
        do {
            if var asynchronous = command as? AsyncParsableCommand { try await asynchronous.run() } else { try command.run() }
        } catch {
            let ownedByArgumentParser = error is ValidationError || error is CleanExit || error is ExitCode
            type(of: command).exit(withError: ownedByArgumentParser ? error : ReadableError(description: ErrorText.describe(error)))
        }
    }
}

/// A command's error in words a person can act on (`ErrorText`).
struct ReadableError: Error, CustomStringConvertible {
    let description: String
}
