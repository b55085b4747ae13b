import Foundation

/// One measured load: what ran, where, how hard, and what came out.
struct ResultRow: Sendable {
    let benchmark: String
    let backend: String
    let concurrency: Int
    let unit: String
    let measurement: Measurement

    static let headers = ["benchmark", "backend", "concurrency", "samples", "errors", "p50", "p90", "p99", "max", "throughput"]

    var cells: [String] {
        let latency = measurement.latency
        return [
            benchmark, backend, String(concurrency), Format.count(latency.count), Format.count(measurement.errors),
            Format.latency(latency.p50), Format.latency(latency.p90), Format.latency(latency.p99), Format.latency(latency.max),
            Format.rate(measurement.throughput, unit: unit),
        ]
    }
}

/// A figure from a memory reading.
struct MemoryRow: Sendable {
    let label: String
    let kilobytes: Int
}

/// A project target next to the figure measured for it.
struct TargetCheck: Sendable {
    let target: String
    let measured: String
    let met: Bool
}

/// Everything the benchmarks found, for the final summary.
struct Findings: Sendable {
    var rows: [ResultRow] = []
    var memory: [MemoryRow] = []
    var checks: [TargetCheck] = []
    var notes: [String] = []

    mutating func append(_ other: Findings) {
        rows += other.rows
        memory += other.memory
        checks += other.checks
        notes += other.notes
    }

    /// Prints this section's figures as they become known.
    func printSection(_ title: String) {
        print("\n## \(title)\n")
        for note in notes { print("- \(note)") }
        if !rows.isEmpty { printRows() }
        if !memory.isEmpty { printMemory() }
        for row in rows where row.measurement.errors > 0 {
            print("\n\(row.benchmark) (\(row.backend)): \(row.measurement.errors) errors, first: \(row.measurement.firstError ?? "?")")
        }
    }

    func printRows() {
        print()
        Format.table(headers: ResultRow.headers, rightAligned: 2..., rows: rows.map(\.cells))
    }

    func printMemory() {
        print()
        Format.table(headers: ["memory", "RSS"], rightAligned: 1..., rows: memory.map { [$0.label, Format.megabytes($0.kilobytes)] })
    }

    func printChecks() {
        print()
        Format.table(headers: ["target", "measured", "met"], rightAligned: 1...1,
                     rows: checks.map { [$0.target, $0.measured, $0.met ? "yes" : "**no**"] })
    }
}

/// The machine, read the way `nproc` and `/proc/cpuinfo` see it.
enum Machine {
    static var description: String {
        let cpu = cpuModel ?? "unknown CPU"
        let memory = Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30)
        return "\(cpu), nproc \(ProcessInfo.processInfo.activeProcessorCount), \(String(format: "%.0f", memory)) GiB RAM, "
            + "\(ProcessInfo.processInfo.operatingSystemVersionString)"
    }

    /// The 1-minute load average, to show whether something else was using the cores.
    static var loadAverage: String {
        let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)
        return text?.split(separator: " ").first.map(String.init) ?? "?"
    }

    private static var cpuModel: String? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix("model name") }
        return line?.split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces)
    }
}

enum Format {
    static func latency(_ duration: Duration) -> String {
        let milliseconds = duration.milliseconds
        let digits = switch milliseconds.magnitude {
        case ..<1: 3
        case ..<10: 2
        case ..<100: 1
        default: 0
        }
        return String(format: "%.\(digits)f ms", milliseconds)
    }

    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return value < 0 ? "-" + grouped : grouped
    }

    static func rate(_ perSecond: Double, unit: String) -> String { "\(count(Int(perSecond.rounded()))) \(unit)" }

    static func seconds(_ duration: Duration) -> String { String(format: "%.3g s", duration.seconds) }

    /// Decimal megabytes from the kB (KiB) that /proc reports.
    static func megabytes(_ kilobytes: Int) -> String { String(format: "%.1f MB", Double(kilobytes * 1024) / 1e6) }

    /// Prints a Markdown table; columns in `rightAligned` are right-aligned.
    static func table(headers: [String], rightAligned: some RangeExpression<Int>, rows: [[String]]) {
        print("| " + headers.joined(separator: " | ") + " |")
        print("|" + headers.indices.map { rightAligned.contains($0) ? "---:" : "---" }.joined(separator: "|") + "|")
        for row in rows { print("| " + row.joined(separator: " | ") + " |") }
    }
}
