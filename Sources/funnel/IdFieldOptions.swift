import ArgumentParser
import FunnelData

/// `--ids N --zipf s [--id-fields k] [--id-buckets B]`: Zipf-distributed id fields of the synthetic funnel.
struct IdFieldOptions: ParsableArguments {
    @Option(help: "Synthetic funnel: add id fields (id0, id1, …) whose raw ids follow a Zipf law over this many values.")
    var ids: Int?

    @Option(help: "Synthetic funnel, with --ids: the Zipf exponent s (P(rank k) ∝ k^-s).")
    var zipf = 1.1

    @Option(help: "Synthetic funnel, with --ids: number of id fields.")
    var idFields = 2

    @Option(help: "Synthetic funnel, with --ids: hash the raw ids into this many buckets (default: direct ids).")
    var idBuckets: Int?

    /// The configuration the flags name, or nil without `--ids`.
    var configuration: IdFieldConfiguration? {
        ids.map { IdFieldConfiguration(count: idFields, vocabulary: $0, zipfExponent: zipf, buckets: idBuckets) }
    }
}
