import Foundation
import Hummingbird
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateStore
import NIOCore

/// The admin API's reports: statistics, failovers, margin, the audit log and the CSV exports.
extension AdminRoutes {
    func registerReports(on group: RouterGroup<AppRequestContext>) {
        group.get("failovers", use: listFailovers)
        group.get("stats/models", use: statisticsTable)
        group.get("models/:id/stats", use: statistics)
        group.get("margin", use: margin)
        group.get("audit", use: auditLog)
        group.get("exports/:kind", use: export)
    }

    @Sendable func listFailovers(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<DataList<FailoverCount>> {
        JSONBody(DataList(data: try await admin.failovers(try Query(request).dayRange(now: admin.now, maxDays: AdminService.exportMaxDays))))
    }

    @Sendable func statisticsTable(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<DataList<ModelStatistics>> {
        JSONBody(DataList(data: try await admin.statisticsTable()))
    }

    @Sendable func statistics(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<ModelStatistics> {
        JSONBody(try await admin.statistics(of: try context.parameters.model()))
    }

    @Sendable func margin(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<MarginView> {
        JSONBody(MarginView(try await admin.margin(try Query(request).dayRange(now: admin.now, maxDays: AdminService.marginMaxDays))))
    }

    @Sendable func auditLog(_ request: Request, _ context: AppRequestContext) async throws -> JSONBody<Paged<AuditEntry>> {
        let query = try Query(request).audit
        let result = try await admin.auditLog(query)
        return JSONBody(Paged(data: result.entries, page: query.page, perPage: query.perPage, total: result.total))
    }

    @Sendable func export(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let name = try context.parameters.require("kind")
        guard let kind = ExportKind(rawValue: name.hasSuffix(".csv") ? String(name.dropLast(4)) : name) else {
            throw ModelgateError.notFound(what: "export", id: name)
        }
        return try await csv(kind, Query(request))
    }

    /// Streams the export page by page: memory stays at one page however long the range.
    func csv(_ kind: ExportKind, _ query: Query) async throws -> Response {
        let range = try query.dayRange(now: admin.now, maxDays: kind == .margin ? AdminService.marginMaxDays : AdminService.exportMaxDays)
        // The margin report is read (and its range checked) before the response starts: a refusal
        // must be a problem with a status, not a stream cut after its head.
        let margin = kind == .margin ? try await admin.margin(range).csvRows : nil
        let body = ResponseBody { [admin] writer in
            try await writer.write(ByteBuffer(string: CSV.line(kind.header)))
            if let margin {
                try await writer.write(ByteBuffer(string: margin.map(CSV.line).joined()))
                return try await writer.finish(nil)
            }
            var cursor: ExportReader.Cursor?
            repeat {
                let page = try await admin.exportPage(kind, range: range, after: cursor)
                try await writer.write(ByteBuffer(string: page.rows.map(CSV.line).joined()))
                cursor = page.next
            } while cursor != nil
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [
            .contentType: "text/csv; charset=utf-8",
            .contentDisposition: "attachment; filename=\"modelgate-\(kind.rawValue)-\(range.from)-\(range.to).csv\"",
        ], body: body)
    }
}
