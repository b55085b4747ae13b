import Logging
import ModelgateCore
import ModelgateStore
import NIOConcurrencyHelpers

/// The catalog and personas held in memory: read on every request, refreshed when an admin
/// changes the catalog, and (for instances sharing one database) when the version counter moves.
public final class CatalogCache: Sendable {
    private struct State: Sendable {
        var catalog: CatalogSnapshot
        var personas: [Persona]
    }

    private let state: NIOLockedValueBox<State>
    private let repository: CatalogRepository
    private let personaRepository: PersonaRepository

    public init(database: Database) async throws {
        repository = CatalogRepository(database: database)
        personaRepository = PersonaRepository(database: database)
        state = NIOLockedValueBox(State(catalog: try await repository.snapshot(), personas: try await personaRepository.all()))
    }

    public var catalog: CatalogSnapshot { state.withLockedValue { $0.catalog } }
    public var personas: [Persona] { state.withLockedValue { $0.personas } }

    public func persona(_ id: PersonaID) -> Persona? { personas.first { $0.id == id } }

    /// Reloads everything now.
    public func refresh() async throws {
        let catalog = try await repository.snapshot()
        let personas = try await personaRepository.all()
        state.withLockedValue { $0 = State(catalog: catalog, personas: personas) }
    }

    /// Reloads when another writer bumped the catalog version.
    public func refreshIfStale() async throws {
        if try await repository.version() != catalog.version { try await refresh() }
    }
}
