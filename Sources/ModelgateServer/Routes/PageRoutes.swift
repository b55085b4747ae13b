import Foundation
import HTTPTypes
import Hummingbird
import ModelgateAccess
import ModelgateAdmin
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore

/// The server-rendered settings page and the forms it posts without JavaScript.
/// Forms post, then redirect back with a notice; a refused form re-renders with the reason.
struct PageRoutes {
    let renderer: PageRenderer
    let tokens: TokenAuthority
    let sessions: SessionAuthority
    let apiKeys: ApiKeyAuthority
    let userModels: UserModelsService
    let purchases: PurchaseService
    /// The user's plan and credits, and the Stripe pages that sell them.
    let paidAccount: PaidAccount
    let admin: AdminService
    /// The history the settings page lists (the user's own replies only).
    let conversations: ConversationRepository
    let maxBodyBytes: Int

    var session: PageSession {
        PageSession(csrfToken: tokens.csrfToken(forSession:), isValidCSRFToken: { [tokens] in tokens.isValidCSRFToken($0, forSession: $1) }, maxBodyBytes: maxBodyBytes)
    }

    func register(on router: Router<AppRequestContext>, auth: AuthMiddleware) {
        var pageAuth = auth
        pageAuth.checksCSRFHeader = false
        let open = router.group().add(middleware: PageErrorMiddleware(renderer: renderer))
        open.get("docs", use: guides)
        open.get("docs/:name", use: guidePage)
        let signIn = SignInRoutes(renderer: renderer, session: session, sessions: sessions, tokens: tokens, maxBodyBytes: maxBodyBytes)
        // Routes of a group take only the middleware added before them: the sign-in routes come first.
        signIn.register(open: open)
        let pages = open.add(middleware: pageAuth)
        signIn.register(signedIn: pages)
        pages.get("settings", use: settingsPage)
        pages.post("settings/default-model", use: setDefaultModel)
        pages.post("settings/overrides", use: setOverride)
        pages.post("settings/checkout", use: checkout)
        registerBilling(on: pages)
        let console = pages.group("admin").add(middleware: RequireAdminMiddleware())
        AdminPageRoutes(renderer: renderer, session: session, admin: admin).register(on: console)
        AdminKeyPageRoutes(renderer: renderer, session: session, apiKeys: apiKeys, admin: admin).register(on: console)
    }

    @Sendable func guides(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        Response.redirect(to: "/docs/user-guide", type: .normal)
    }

    @Sendable func guidePage(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        try guide(try context.parameters.require("name"))
    }

    @Sendable func settingsPage(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        try await settings(context, notice: SettingsNotice(query: request.uri.queryParameters, catalog: userModels.catalog))
    }

    @Sendable func setDefaultModel(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        try await submit(ModelChoiceForm.self, request, context) { form, profile in
            _ = try await userModels.updatePreferences(PreferencesChange(defaultModelId: .some(form.model)), for: profile)
            return "saved=default"
        }
    }

    @Sendable func setOverride(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        try await submit(OverrideForm.self, request, context) { form, profile in
            guard let persona = form.personaId, !persona.isEmpty else {
                throw ModelgateError.invalidField(field: "personaId", reason: "is required")
            }
            let model = ModelChoiceForm.model(form.modelId)
            _ = try await userModels.updatePreferences(PreferencesChange(personaOverrides: [PersonaID(persona): model]), for: profile)
            return model == nil ? "saved=cleared" : "saved=override"
        }
    }

    @Sendable func checkout(_ request: Request, _ context: AppRequestContext) async throws -> some ResponseGenerator {
        let form = try await session.verifiedForm(ModelChoiceForm.self, request, context)
        guard let id = form.model else { throw ModelgateError.invalidField(field: "modelId", reason: "is required") }
        do {
            let started = try await purchases.checkout(id, for: try context.requireIdentity().profile, userModels: userModels)
            return Response.redirect(to: started.url, type: .normal)
        } catch {
            return try await settings(context, notice: .refused(error, catalog: userModels.catalog))
        }
    }

    /// A bundled guide, rendered from its Markdown.
    private func guide(_ name: String) throws -> Response {
        guard name.allSatisfy({ $0.isLetter || $0 == "-" }),
              let url = Bundle.module.resourceURL?.appendingPathComponent("docs/\(name).md"),
              let source = try? String(contentsOf: url, encoding: .utf8)
        else { throw ModelgateError.notFound(what: "guide", id: name) }
        let title = source.split(separator: "\n").first.map { $0.drop { $0 == "#" || $0 == " " } }.map(String.init) ?? name
        return renderer.render("doc", ["title": title, "body": Markdown.html(source)])
    }

    func settings(_ context: AppRequestContext, notice: SettingsNotice?, status: HTTPResponse.Status = .ok) async throws -> Response {
        let identity = try context.requireIdentity()
        let catalog = userModels.catalog
        // With every model disabled there is nothing to select for a coach: the page says so.
        let personas = catalog.enabledModels.isEmpty ? [] : try userModels.personas(for: identity.profile)
        let page = SettingsPage(
            identity: identity, models: try await userModels.models(for: identity.profile),
            personas: personas, catalog: catalog,
            csrf: session.csrf(context),
            notice: notice.map(PageNotice.init), purchasesOpen: purchases.isOpen,
            modelSelectionEnabled: userModels.isModelSelectionEnabled, week: try await userModels.access.recentDays(of: identity.profile),
            recent: try await conversations.recentReplies(ownedBy: identity.user),
            billing: try await paidAccount.view(of: identity.user), ledger: try await paidAccount.ledger(of: identity.user, limit: 20))
        return renderer.render("settings", page, status: notice?.status ?? status)
    }

    /// Runs a settings form: on success redirects with `query`, on a refusal shows the page with why.
    private func submit<Form: Decodable>(
        _ form: Form.Type, _ request: Request, _ context: AppRequestContext, _ change: (Form, Profile) async throws -> String
    ) async throws -> Response {
        let form = try await session.verifiedForm(Form.self, request, context)
        do {
            let query = try await change(form, try context.requireIdentity().profile)
            return Response.redirect(to: "/settings?\(query)", type: .normal)
        } catch {
            return try await settings(context, notice: .refused(error, catalog: userModels.catalog))
        }
    }
}

/// A coach override: the coach and its model (blank clears it).
struct OverrideForm: Decodable {
    let personaId: String?
    let modelId: String?
}

/// Renders failures of page routes as an HTML page with the same status and code as the API.
struct PageErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let renderer: PageRenderer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let problem = Problem(error)
            ProblemMiddleware.log(problem, error: error, path: request.uri.path, logger: context.logger)
            return renderer.render("error", [
                "title": problem.title, "detail": problem.detail, "code": problem.code, "status": "\(problem.status.code)",
                "signIn": problem.status == .unauthorized, "requestId": context.id,
            ], status: problem.status)
        }
    }
}
