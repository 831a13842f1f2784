using System;
using System.Collections.Generic;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PersonaGym.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "CacheEntries",
                columns: table => new
                {
                    Key = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    Value = table.Column<byte[]>(type: "bytea", nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    ExpiresAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    AbsoluteExpiresAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    SlidingExpiration = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_CacheEntries", x => x.Key);
                });

            migrationBuilder.CreateTable(
                name: "Personas",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Text = table.Column<string>(type: "text", nullable: false),
                    TextHash = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Personas", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "QuestionSets",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Name = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: false),
                    Version = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    Source = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    Frozen = table.Column<bool>(type: "boolean", nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    Description = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_QuestionSets", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "QuestionSetPersonas",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    QuestionSetId = table.Column<Guid>(type: "uuid", nullable: false),
                    PersonaId = table.Column<Guid>(type: "uuid", nullable: false),
                    Environments = table.Column<List<string>>(type: "text[]", nullable: false),
                    Status = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    Error = table.Column<string>(type: "text", nullable: true),
                    UpdatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_QuestionSetPersonas", x => x.Id);
                    table.ForeignKey(
                        name: "FK_QuestionSetPersonas_Personas_PersonaId",
                        column: x => x.PersonaId,
                        principalTable: "Personas",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_QuestionSetPersonas_QuestionSets_QuestionSetId",
                        column: x => x.QuestionSetId,
                        principalTable: "QuestionSets",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "Runs",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Name = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    UpdatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    CompletedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    Status = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    QuestionSetId = table.Column<Guid>(type: "uuid", nullable: false),
                    QuestionsPerTask = table.Column<int>(type: "integer", nullable: false),
                    EnvironmentsMode = table.Column<string>(type: "character varying(4000)", maxLength: 4000, nullable: false),
                    QuestionWriterSpec = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: true),
                    ExemplarWriterSpec = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: false),
                    BatchSize = table.Column<int>(type: "integer", nullable: false),
                    MaxCalls = table.Column<long>(type: "bigint", nullable: true),
                    MaxTokens = table.Column<long>(type: "bigint", nullable: true),
                    UsesOfflineModels = table.Column<bool>(type: "boolean", nullable: false),
                    OptionsJson = table.Column<string>(type: "text", nullable: false),
                    Error = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Runs", x => x.Id);
                    table.CheckConstraint("CK_Runs_BatchSize", "\"BatchSize\" >= 1");
                    table.CheckConstraint("CK_Runs_QuestionsPerTask", "\"QuestionsPerTask\" >= 1");
                    table.ForeignKey(
                        name: "FK_Runs_QuestionSets_QuestionSetId",
                        column: x => x.QuestionSetId,
                        principalTable: "QuestionSets",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "QuestionBatches",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    QuestionSetPersonaId = table.Column<Guid>(type: "uuid", nullable: false),
                    Task = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    BatchIndex = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_QuestionBatches", x => x.Id);
                    table.ForeignKey(
                        name: "FK_QuestionBatches_QuestionSetPersonas_QuestionSetPersonaId",
                        column: x => x.QuestionSetPersonaId,
                        principalTable: "QuestionSetPersonas",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "LlmCalls",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    RunId = table.Column<Guid>(type: "uuid", nullable: true),
                    Stage = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    Model = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: false),
                    InputTokens = table.Column<int>(type: "integer", nullable: true),
                    OutputTokens = table.Column<int>(type: "integer", nullable: true),
                    LatencyMs = table.Column<long>(type: "bigint", nullable: false),
                    CacheHit = table.Column<bool>(type: "boolean", nullable: false),
                    Succeeded = table.Column<bool>(type: "boolean", nullable: false),
                    Error = table.Column<string>(type: "text", nullable: true),
                    At = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_LlmCalls", x => x.Id);
                    table.ForeignKey(
                        name: "FK_LlmCalls_Runs_RunId",
                        column: x => x.RunId,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                });

            migrationBuilder.CreateTable(
                name: "RunModels",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    RunId = table.Column<Guid>(type: "uuid", nullable: false),
                    Role = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    Spec = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: false),
                    Ordinal = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RunModels", x => x.Id);
                    table.ForeignKey(
                        name: "FK_RunModels_Runs_RunId",
                        column: x => x.RunId,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "RunPersonas",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    RunId = table.Column<Guid>(type: "uuid", nullable: false),
                    PersonaId = table.Column<Guid>(type: "uuid", nullable: false),
                    QuestionSetPersonaId = table.Column<Guid>(type: "uuid", nullable: true),
                    Status = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    Error = table.Column<string>(type: "text", nullable: true),
                    UpdatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RunPersonas", x => x.Id);
                    table.ForeignKey(
                        name: "FK_RunPersonas_Personas_PersonaId",
                        column: x => x.PersonaId,
                        principalTable: "Personas",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_RunPersonas_QuestionSetPersonas_QuestionSetPersonaId",
                        column: x => x.QuestionSetPersonaId,
                        principalTable: "QuestionSetPersonas",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_RunPersonas_Runs_RunId",
                        column: x => x.RunId,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "Questions",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    QuestionSetPersonaId = table.Column<Guid>(type: "uuid", nullable: false),
                    BatchId = table.Column<Guid>(type: "uuid", nullable: false),
                    Task = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    Ordinal = table.Column<int>(type: "integer", nullable: false),
                    Text = table.Column<string>(type: "text", nullable: false),
                    Source = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Questions", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Questions_QuestionBatches_BatchId",
                        column: x => x.BatchId,
                        principalTable: "QuestionBatches",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_Questions_QuestionSetPersonas_QuestionSetPersonaId",
                        column: x => x.QuestionSetPersonaId,
                        principalTable: "QuestionSetPersonas",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "BatchWork",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    RunId = table.Column<Guid>(type: "uuid", nullable: false),
                    RunPersonaId = table.Column<Guid>(type: "uuid", nullable: false),
                    BatchId = table.Column<Guid>(type: "uuid", nullable: false),
                    AgentId = table.Column<Guid>(type: "uuid", nullable: false),
                    Stage = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    Attempts = table.Column<int>(type: "integer", nullable: false),
                    LastProgressAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    Error = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_BatchWork", x => x.Id);
                    table.ForeignKey(
                        name: "FK_BatchWork_QuestionBatches_BatchId",
                        column: x => x.BatchId,
                        principalTable: "QuestionBatches",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_BatchWork_RunModels_AgentId",
                        column: x => x.AgentId,
                        principalTable: "RunModels",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_BatchWork_RunPersonas_RunPersonaId",
                        column: x => x.RunPersonaId,
                        principalTable: "RunPersonas",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_BatchWork_Runs_RunId",
                        column: x => x.RunId,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "Answers",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    RunId = table.Column<Guid>(type: "uuid", nullable: false),
                    QuestionId = table.Column<Guid>(type: "uuid", nullable: false),
                    AgentId = table.Column<Guid>(type: "uuid", nullable: false),
                    Text = table.Column<string>(type: "text", nullable: false),
                    InputTokens = table.Column<int>(type: "integer", nullable: true),
                    OutputTokens = table.Column<int>(type: "integer", nullable: true),
                    LatencyMs = table.Column<long>(type: "bigint", nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Answers", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Answers_Questions_QuestionId",
                        column: x => x.QuestionId,
                        principalTable: "Questions",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_Answers_RunModels_AgentId",
                        column: x => x.AgentId,
                        principalTable: "RunModels",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_Answers_Runs_RunId",
                        column: x => x.RunId,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "Exemplars",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    QuestionId = table.Column<Guid>(type: "uuid", nullable: false),
                    WriterSpec = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: false),
                    RubricVersion = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    Score = table.Column<int>(type: "integer", nullable: false),
                    Text = table.Column<string>(type: "text", nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Exemplars", x => x.Id);
                    table.CheckConstraint("CK_Exemplars_Score", "\"Score\" BETWEEN 1 AND 5");
                    table.ForeignKey(
                        name: "FK_Exemplars_Questions_QuestionId",
                        column: x => x.QuestionId,
                        principalTable: "Questions",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "Judgements",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    RunId = table.Column<Guid>(type: "uuid", nullable: false),
                    AnswerId = table.Column<Guid>(type: "uuid", nullable: false),
                    JudgeId = table.Column<Guid>(type: "uuid", nullable: false),
                    ItemIndex = table.Column<int>(type: "integer", nullable: false),
                    Score = table.Column<int>(type: "integer", nullable: true),
                    ParseFailure = table.Column<string>(type: "text", nullable: true),
                    Reasoning = table.Column<string>(type: "text", nullable: true),
                    RawText = table.Column<string>(type: "text", nullable: false),
                    RubricVersion = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Judgements", x => x.Id);
                    table.CheckConstraint("CK_Judgements_Score", "\"Score\" IS NULL OR \"Score\" BETWEEN 1 AND 5");
                    table.ForeignKey(
                        name: "FK_Judgements_Answers_AnswerId",
                        column: x => x.AnswerId,
                        principalTable: "Answers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_Judgements_RunModels_JudgeId",
                        column: x => x.JudgeId,
                        principalTable: "RunModels",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_Judgements_Runs_RunId",
                        column: x => x.RunId,
                        principalTable: "Runs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Answers_AgentId_QuestionId",
                table: "Answers",
                columns: new[] { "AgentId", "QuestionId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Answers_QuestionId",
                table: "Answers",
                column: "QuestionId");

            migrationBuilder.CreateIndex(
                name: "IX_Answers_RunId",
                table: "Answers",
                column: "RunId");

            migrationBuilder.CreateIndex(
                name: "IX_BatchWork_AgentId",
                table: "BatchWork",
                column: "AgentId");

            migrationBuilder.CreateIndex(
                name: "IX_BatchWork_BatchId_AgentId",
                table: "BatchWork",
                columns: new[] { "BatchId", "AgentId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_BatchWork_RunId_Stage",
                table: "BatchWork",
                columns: new[] { "RunId", "Stage" });

            migrationBuilder.CreateIndex(
                name: "IX_BatchWork_RunPersonaId",
                table: "BatchWork",
                column: "RunPersonaId");

            migrationBuilder.CreateIndex(
                name: "IX_BatchWork_Stage_LastProgressAt",
                table: "BatchWork",
                columns: new[] { "Stage", "LastProgressAt" });

            migrationBuilder.CreateIndex(
                name: "IX_CacheEntries_ExpiresAt",
                table: "CacheEntries",
                column: "ExpiresAt");

            migrationBuilder.CreateIndex(
                name: "IX_Exemplars_QuestionId_WriterSpec_RubricVersion_Score",
                table: "Exemplars",
                columns: new[] { "QuestionId", "WriterSpec", "RubricVersion", "Score" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Judgements_AnswerId_JudgeId",
                table: "Judgements",
                columns: new[] { "AnswerId", "JudgeId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Judgements_JudgeId",
                table: "Judgements",
                column: "JudgeId");

            migrationBuilder.CreateIndex(
                name: "IX_Judgements_RunId",
                table: "Judgements",
                column: "RunId");

            migrationBuilder.CreateIndex(
                name: "IX_LlmCalls_At",
                table: "LlmCalls",
                column: "At");

            migrationBuilder.CreateIndex(
                name: "IX_LlmCalls_RunId_Stage",
                table: "LlmCalls",
                columns: new[] { "RunId", "Stage" });

            migrationBuilder.CreateIndex(
                name: "IX_Personas_TextHash",
                table: "Personas",
                column: "TextHash",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_QuestionBatches_QuestionSetPersonaId_Task_BatchIndex",
                table: "QuestionBatches",
                columns: new[] { "QuestionSetPersonaId", "Task", "BatchIndex" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Questions_BatchId",
                table: "Questions",
                column: "BatchId");

            migrationBuilder.CreateIndex(
                name: "IX_Questions_QuestionSetPersonaId_Task_Ordinal",
                table: "Questions",
                columns: new[] { "QuestionSetPersonaId", "Task", "Ordinal" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_QuestionSetPersonas_PersonaId",
                table: "QuestionSetPersonas",
                column: "PersonaId");

            migrationBuilder.CreateIndex(
                name: "IX_QuestionSetPersonas_QuestionSetId_PersonaId",
                table: "QuestionSetPersonas",
                columns: new[] { "QuestionSetId", "PersonaId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_QuestionSets_Name_Version",
                table: "QuestionSets",
                columns: new[] { "Name", "Version" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_RunModels_RunId_Role_Spec",
                table: "RunModels",
                columns: new[] { "RunId", "Role", "Spec" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_RunPersonas_PersonaId",
                table: "RunPersonas",
                column: "PersonaId");

            migrationBuilder.CreateIndex(
                name: "IX_RunPersonas_QuestionSetPersonaId",
                table: "RunPersonas",
                column: "QuestionSetPersonaId");

            migrationBuilder.CreateIndex(
                name: "IX_RunPersonas_RunId_PersonaId",
                table: "RunPersonas",
                columns: new[] { "RunId", "PersonaId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Runs_CreatedAt",
                table: "Runs",
                column: "CreatedAt");

            migrationBuilder.CreateIndex(
                name: "IX_Runs_QuestionSetId",
                table: "Runs",
                column: "QuestionSetId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "BatchWork");

            migrationBuilder.DropTable(
                name: "CacheEntries");

            migrationBuilder.DropTable(
                name: "Exemplars");

            migrationBuilder.DropTable(
                name: "Judgements");

            migrationBuilder.DropTable(
                name: "LlmCalls");

            migrationBuilder.DropTable(
                name: "RunPersonas");

            migrationBuilder.DropTable(
                name: "Answers");

            migrationBuilder.DropTable(
                name: "Questions");

            migrationBuilder.DropTable(
                name: "RunModels");

            migrationBuilder.DropTable(
                name: "QuestionBatches");

            migrationBuilder.DropTable(
                name: "Runs");

            migrationBuilder.DropTable(
                name: "QuestionSetPersonas");

            migrationBuilder.DropTable(
                name: "Personas");

            migrationBuilder.DropTable(
                name: "QuestionSets");
        }
    }
}
