import ModelgateCore
import SQLKit

public struct PersonaRepository: Sendable {
    let database: Database

    public init(database: Database) { self.database = database }

    public func all() async throws -> [Persona] {
        try await database.read { db in
            try await db.raw("SELECT id, name, description, system_prompt, sort_order FROM personas ORDER BY sort_order, id").all().map { row in
                Persona(
                    id: PersonaID(try row.decode(column: "id", as: String.self)),
                    name: try row.decode(column: "name", as: String.self),
                    description: try row.decode(column: "description", as: String.self),
                    systemPrompt: try row.decode(column: "system_prompt", as: String.self),
                    sortOrder: try row.decode(column: "sort_order", as: Int.self))
            }
        }
    }
}
